"""Benchmark: this trainer against a Distilling step-by-step-style baseline, multitask, on real CQA data.

    python bench/seq2seq_training.py --data ../shared/data/cqa [--steps 30] [--rounds 3]

Both train a randomly initialised t5-small-sized student on the real CQA train questions with the recorded
teacher's (unrevised) explanations, through the Hugging Face Trainer, with the same settings:
- this trainer: one forward pass over packed rows (a question's [predict] and [explain] inputs side by side),
  batches grouped by encoder and decoder length;
- the baseline: one forward pass per task, each task's sub-batch padded to its own longest, random batches.

The steps are split into `rounds` pairs of runs, alternating this trainer and the baseline (each round a fresh
model and a new seed), so that a machine shared with other work disturbs both alike; ratios are per round.
Printed: examples (questions) per second and their ratio, the share of pad tokens in encoder and decoder, the
loss of both on one fixed batch (they must agree), and the achieved FLOP/s (model FLOPs of the real tokens,
forward and backward) against the machine's float32 matmul peak, measured in the same run.
"""

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import add_cqa_options, load_cqa_train  # noqa: E402
from training.batching import IGNORE_INDEX, SegmentCollator, collate_by_task, tokenize_training_data  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.examples import build_training_data, tokenizer_corpus  # noqa: E402
from training.inference import GenerationSettings  # noqa: E402
from training.losses import separate_forward_loss, student_loss  # noqa: E402
from training.students import load_student  # noqa: E402
from training.trainer import DistillationTrainer, run_info, training_arguments  # noqa: E402


class SeparateForwardTrainer(Trainer):
    """The Distilling step-by-step layout: a compute_loss with one forward pass per task."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args, weights: dict[str, float], **kwargs):
        super().__init__(*args, **kwargs)
        self.weights = weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = separate_forward_loss(model, inputs, self.weights)
        return (loss, None) if return_outputs else loss


def t5_training_flops(config, items) -> float:
    """Model FLOPs of one training step (forward + backward = 3 × forward) on the real tokens of `items`."""
    d, inner, vocab = config.d_model, config.num_heads * config.d_kv, config.vocab_size
    ffn = (3 if config.is_gated_act else 2) * d * config.d_ff
    macs = 0.0
    for segments in items:
        for segment in segments:
            s, t = len(segment.input_ids), len(segment.labels)
            macs += config.num_layers * (s * (4 * d * inner + ffn) + 2 * inner * s * s)
            macs += config.num_decoder_layers * (
                t * (4 * d * inner + ffn)
                + inner * t * (t + 1)  # causal self-attention: scores and values
                + 2 * d * inner * (t + s)  # cross-attention: query and output of t, key and value of s
                + 2 * inner * t * s  # cross-attention scores and values
            )
            macs += t * d * vocab  # LM head
    return 3 * 2 * macs


class Meter:
    """Wraps a collator: counts real and padded tokens, and the model FLOPs of each batch."""

    def __init__(self, collate, model_config):
        self.collate = collate
        self.model_config = model_config
        self.tokens = {"encoder": [0, 0], "decoder": [0, 0]}  # real, total
        self.flops: list[float] = []

    def __call__(self, items):
        batch = self.collate(items)
        for part in batch.values() if isinstance(next(iter(batch.values())), dict) else [batch]:
            for side, real in (
                ("encoder", part["attention_mask"]),
                ("decoder", part["labels"] != IGNORE_INDEX),
            ):
                self.tokens[side][0] += int(real.sum())
                self.tokens[side][1] += real.numel()
        self.flops.append(t5_training_flops(self.model_config, items))
        return batch

    def padding(self) -> dict[str, float]:
        return {side: 1 - real / total for side, (real, total) in self.tokens.items()}


class StepClock(TrainerCallback):
    def __init__(self):
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())


def matmul_peak(n: int = 2048, repeats: int = 6) -> float:
    """Best float32 matmul FLOP/s of this machine now (all threads torch uses)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def run(kind: str, *, config, dataset, tokenizer, student_name, corpus, seed, steps, output_dir):
    torch.manual_seed(seed)
    model = load_student(student_name, corpus=corpus, cache_dir=config.cache_dir).model
    args = dataclasses.replace(
        training_arguments(
            dataclasses.replace(config, seed=seed, max_steps=steps), output_dir, evaluate=False, bf16=False
        ),
        save_strategy="no",
    )
    clock = StepClock()
    common = {"model": model, "args": args, "train_dataset": dataset, "callbacks": [clock]}
    if kind == "this trainer":
        meter = Meter(
            SegmentCollator(
                pad_token_id=tokenizer.pad_token_id,
                decoder_start_token_id=model.config.decoder_start_token_id,
                task_weights=config.task_weights(),
                packed=True,
            ),
            model.config,
        )
        trainer = DistillationTrainer(
            **common,
            data_collator=meter,
            processing_class=tokenizer,
            inference_mode="predict_explain",
            generation=GenerationSettings(),
            checkpoint_info=run_info(config),
            keep_checkpoints=1,
            causal=False,
        )
    else:
        meter = Meter(lambda items: collate_by_task(items, pad_token_id=tokenizer.pad_token_id), model.config)
        trainer = SeparateForwardTrainer(
            **common, data_collator=meter, processing_class=tokenizer, weights=config.task_weights()
        )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    # Time steps 2..N (step 1 warms up); batch i was the input of step i + 1.
    seconds = clock.ends[-1] - clock.ends[0]
    timed = len(clock.ends) - 1
    return {
        "examples_per_second": timed * config.batch_size / seconds,
        "flops": sum(meter.flops[1 : timed + 1]) / seconds,
        "tokens": meter.tokens,
        "model": model,
    }


def same_loss_check(config, dataset, tokenizer, model) -> tuple[float, float]:
    items = [dataset[i] for i in range(config.batch_size)]
    model.eval()  # no dropout: both compute the same function
    with torch.no_grad():
        packed = SegmentCollator(
            pad_token_id=tokenizer.pad_token_id,
            decoder_start_token_id=model.config.decoder_start_token_id,
            task_weights=config.task_weights(),
            packed=True,
        )(items)
        ours = student_loss(model, packed).item()
        theirs = separate_forward_loss(
            model, collate_by_task(items, pad_token_id=tokenizer.pad_token_id), config.task_weights()
        ).item()
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_cqa_options(parser)
    parser.add_argument("--student", default="random:t5-small")
    parser.add_argument("--steps", type=int, default=30, help="steps of each trainer, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--cache-dir", default="", help="tokenizer cache (default: $DISTILL_CACHE_DIR)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads for everything, the peak too (default: torch's)"
    )
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)
    questions, teacher = load_cqa_train(parser, options)

    config = TrainConfig(
        student=options.student,
        method="multitask",
        batch_size=options.batch_size,
        eval_every=10**9,
        logging_every=10**9,
        missing_teacher="skip",  # the recorded teacher left some explanations empty
        tokenizer_cache_dir=options.cache_dir,
    )
    training_data = build_training_data(questions, teacher, config)
    corpus = tokenizer_corpus(questions, teacher)
    start = time.perf_counter()
    tokenizer = load_student(config.student, corpus=corpus, cache_dir=config.cache_dir).tokenizer
    dataset = tokenize_training_data(training_data, tokenizer, max_length=config.max_length)
    print(
        f"data: {len(dataset)} questions with explanations ({len(training_data.skipped)} left out: no explanation); "
        f"tokenizer of {len(tokenizer)} pieces ready in {time.perf_counter() - start:.1f}s"
    )
    print(
        f"student: {config.student}, multitask, batch {config.batch_size}, torch threads {torch.get_num_threads()}"
    )

    per_round = max(2, options.steps // options.rounds)
    results = {"this trainer": [], "baseline": []}
    peaks = []
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(options.rounds):
            for kind in results:
                peaks.append(matmul_peak())
                outcome = run(
                    kind,
                    config=config,
                    dataset=dataset,
                    tokenizer=tokenizer,
                    student_name=config.student,
                    corpus=corpus,
                    seed=round_,
                    steps=per_round,
                    output_dir=Path(scratch) / f"{kind}-{round_}",
                )
                results[kind].append(outcome)
                print(
                    f"round {round_ + 1}/{options.rounds} {kind:>12}: {outcome['examples_per_second']:6.2f} "
                    f"examples/s, {outcome['flops'] / 1e9:6.1f} GFLOP/s (matmul peak just before: "
                    f"{peaks[-1] / 1e9:.1f} GFLOP/s)"
                )
        ours_loss, baseline_loss = same_loss_check(
            config, dataset, tokenizer, results["this trainer"][-1]["model"]
        )

    ratios = [
        o["examples_per_second"] / b["examples_per_second"]
        for o, b in zip(results["this trainer"], results["baseline"], strict=True)
    ]
    peak = max(peaks)
    print("\n== results ==")
    for kind, outcomes in results.items():
        tokens = {
            side: [sum(o["tokens"][side][i] for o in outcomes) for i in (0, 1)]
            for side in ("encoder", "decoder")
        }
        waste = {side: 1 - real / total for side, (real, total) in tokens.items()}
        flops = statistics.median(o["flops"] for o in outcomes)
        print(
            f"{kind:>12}: {statistics.median(o['examples_per_second'] for o in outcomes):.2f} examples/s (median "
            f"of {len(outcomes)} rounds); padding: encoder {waste['encoder']:.1%}, decoder {waste['decoder']:.1%}; "
            f"{flops / 1e9:.1f} GFLOP/s = {flops / peak:.1%} of the matmul peak"
        )
    print(
        f"speed-up (examples/s, this trainer / baseline): median {statistics.median(ratios):.2f}x, "
        f"per round {', '.join(f'{r:.2f}x' for r in ratios)}  (target >= 2x)"
    )
    print(
        f"matmul peak (float32, 2048x2048, best of the run): {peak / 1e9:.1f} GFLOP/s; measured "
        f"{', '.join(f'{p / 1e9:.0f}' for p in peaks)} GFLOP/s (spread shows how much else ran on the machine)"
    )
    print(
        f"same loss on one fixed batch of {config.batch_size}: packed {ours_loss:.6f}, one forward per task "
        f"{baseline_loss:.6f}, difference {abs(ours_loss - baseline_loss):.2e}"
    )


if __name__ == "__main__":
    main()
