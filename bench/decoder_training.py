"""Benchmark: the project's causal-LM trainer against a baseline trained the way the study's extension trains.

    python bench/decoder_training.py --data ../shared/data/cqa [--steps 6] [--rounds 2] [--method multitask]

Both train the bundled SmolLM2-135M-Instruct (`smollm2`) on real CQA train questions with the recorded teacher's
explanations, through the Hugging Face Trainer, with the same settings and the same number of questions a step:
- this trainer: every task sequence of a batch end to end in one row, no padding, position ids restarting per
  sequence (`training/causal.py`), the loss on completion tokens (or `--loss-on-prompt`), logits only where a
  label is;
- the baseline: one forward pass per task, each task's prompt + completion sequences padded to their longest by
  `DataCollatorForLanguageModeling(mlm=False)` (the loss over prompt and completion), random batches.

Rounds alternate the two (a fresh model each), so that other work on the machine disturbs both alike; the first
step of each run is a warm-up and is not timed. Printed: examples (questions) per second and their ratio, the
share of pad tokens each feeds the model, and the completion-token loss of both layouts on one fixed batch in
float64 (they must agree within 1e-5).
"""

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import DataCollatorForLanguageModeling, PrinterCallback, Trainer, TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import add_cqa_options, load_cqa_train  # noqa: E402
from training.batching import IGNORE_INDEX  # noqa: E402
from training.causal import PackedCausalCollator, causal_loss, tokenize_causal_data  # noqa: E402
from training.config import METHODS, TrainConfig  # noqa: E402
from training.examples import build_training_data  # noqa: E402
from training.formats import TASKS  # noqa: E402
from training.inference import GenerationSettings  # noqa: E402
from training.students import load_student  # noqa: E402
from training.trainer import DistillationTrainer, run_info, training_arguments  # noqa: E402


def task_rows(items) -> dict[str, list[list[int]]]:
    """Each task's prompt + completion token sequences of a batch."""
    rows: dict[str, list[list[int]]] = {}
    for item in items:
        for segment in item:
            rows.setdefault(TASKS[segment.task], []).append(segment.input_ids + segment.labels)
    return rows


class ExtensionCollator:
    """The extension's layout: per task, DataCollatorForLanguageModeling over prompt + completion."""

    def __init__(self, tokenizer):
        self.collate = DataCollatorForLanguageModeling(tokenizer, mlm=False)

    def __call__(self, items):
        return {
            task: self.collate([{"input_ids": row} for row in rows])
            for task, rows in task_rows(items).items()
        }


class ExtensionTrainer(Trainer):
    """One forward pass per task, each the model's own (shifted) language-modelling loss, weighted per task."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args, weights: dict[str, float], **kwargs):
        super().__init__(*args, **kwargs)
        self.weights = weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = sum(
            self.weights[task] * model(**batch, use_cache=False).loss for task, batch in inputs.items()
        )
        return (loss, None) if return_outputs else loss


class Meter:
    """Wraps a collator: counts the real and the fed token positions of every batch."""

    def __init__(self, collate):
        self.collate = collate
        self.real = self.fed = 0

    def __call__(self, items):
        batch = self.collate(items)
        for part in batch.values() if "input_ids" not in batch else [batch]:
            self.fed += part["input_ids"].numel()
            self.real += (
                int(part["attention_mask"].sum()) if "attention_mask" in part else part["input_ids"].numel()
            )
        return batch

    @property
    def padding(self) -> float:
        return 1 - self.real / self.fed


class StepClock(TrainerCallback):
    def __init__(self):
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())


def run(kind: str, *, config: TrainConfig, dataset, seed: int, steps: int, output_dir: Path) -> dict:
    torch.manual_seed(seed)
    student = load_student(config.student)
    args = dataclasses.replace(
        training_arguments(
            dataclasses.replace(config, seed=seed, max_steps=steps), output_dir, evaluate=False, bf16=False
        ),
        save_strategy="no",
    )
    clock = StepClock()
    common = {"model": student.model, "args": args, "train_dataset": dataset, "callbacks": [clock]}
    if kind == "this trainer":
        meter = Meter(
            PackedCausalCollator(task_weights=config.task_weights(), loss_on_prompt=config.loss_on_prompt)
        )
        trainer = DistillationTrainer(
            **common,
            data_collator=meter,
            processing_class=student.tokenizer,
            inference_mode="predict_explain",
            generation=GenerationSettings(),
            checkpoint_info=run_info(config),
            keep_checkpoints=1,
            causal=True,
        )
    else:
        meter = Meter(ExtensionCollator(student.tokenizer))
        trainer = ExtensionTrainer(**common, data_collator=meter, weights=config.task_weights())
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    seconds = clock.ends[-1] - clock.ends[0]  # steps 2..N: the first warms up
    return {
        "examples_per_second": (len(clock.ends) - 1) * config.batch_size / seconds,
        "padding": meter.padding,
    }


def completion_loss_check(config: TrainConfig, dataset) -> tuple[float, float]:
    """The completion-token loss of one fixed batch, packed (ours) and one padded pass per task, in float64."""
    student = load_student(config.student)
    model = student.model.double().eval()
    items = [dataset[i] for i in range(config.batch_size)]
    weights = config.task_weights()
    with torch.no_grad():
        packed = PackedCausalCollator(task_weights=weights, loss_on_prompt=False)(items)
        ours = float(causal_loss(model, packed))
        padded = 0.0
        by_task: dict[str, list] = {}
        for item in items:
            for segment in item:
                by_task.setdefault(TASKS[segment.task], []).append(segment)
        for task, segments in by_task.items():
            width = max(len(s.input_ids) + len(s.labels) for s in segments)
            pad = student.tokenizer.pad_token_id
            input_ids = torch.tensor(
                [
                    s.input_ids + s.labels + [pad] * (width - len(s.input_ids) - len(s.labels))
                    for s in segments
                ]
            )
            attention = (
                torch.arange(width)[None, :]
                < torch.tensor([[len(s.input_ids) + len(s.labels)] for s in segments])
            ).long()
            labels = torch.tensor(
                [
                    [IGNORE_INDEX] * len(s.input_ids)
                    + s.labels
                    + [IGNORE_INDEX] * (width - len(s.input_ids) - len(s.labels))
                    for s in segments
                ]
            )
            logits = model(input_ids=input_ids, attention_mask=attention, use_cache=False).logits
            token_mean = F.cross_entropy(
                logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE_INDEX
            )
            padded += weights[task] * float(token_mean)
    return ours, padded


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_cqa_options(parser)
    parser.add_argument("--student", default="smollm2")
    parser.add_argument("--method", default="multitask", choices=METHODS)
    parser.add_argument("--steps", type=int, default=6, help="steps of each trainer, over all rounds")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--questions", type=int, default=400, help="train questions used (the first N)")
    parser.add_argument("--loss-on-prompt", action="store_true", help="this trainer's loss over prompt too")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)
    questions, teacher = load_cqa_train(parser, options)
    questions = questions[: options.questions]

    config = TrainConfig(
        student=options.student,
        method=options.method,
        batch_size=options.batch_size,
        learning_rate=1e-5,
        eval_every=10**9,
        logging_every=10**9,
        loss_on_prompt=options.loss_on_prompt,
        missing_teacher="skip",  # the recorded teacher left some explanations empty
    )
    training_data = build_training_data(questions, teacher, config)
    tokenizer = load_student(config.student).tokenizer
    dataset = tokenize_causal_data(
        training_data,
        tokenizer,
        max_length=config.max_length,
        label_max_length=config.target_max_length,
        chat_template=False,
    )
    print(
        f"data: {len(dataset)} CQA questions ({len(training_data.skipped)} left out: no explanation); student "
        f"{config.student}, {config.method}, batch {config.batch_size}, torch threads {torch.get_num_threads()}"
    )

    per_round = max(2, options.steps // options.rounds)
    results: dict[str, list[dict]] = {"this trainer": [], "baseline": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(options.rounds):
            for kind in results:
                outcome = run(
                    kind,
                    config=config,
                    dataset=dataset,
                    seed=round_,
                    steps=per_round,
                    output_dir=Path(scratch) / f"{kind}-{round_}",
                )
                results[kind].append(outcome)
                print(
                    f"round {round_ + 1}/{options.rounds} {kind:>12}: {outcome['examples_per_second']:6.2f} examples/s"
                )
    ours, padded = completion_loss_check(config, dataset)

    print("\n== results ==")
    for kind, outcomes in results.items():
        print(
            f"{kind:>12}: {statistics.median(o['examples_per_second'] for o in outcomes):.2f} examples/s (median of "
            f"{len(outcomes)} rounds); padding {statistics.mean(o['padding'] for o in outcomes):.1%} of the tokens fed"
        )
    ratios = [
        o["examples_per_second"] / b["examples_per_second"]
        for o, b in zip(results["this trainer"], results["baseline"], strict=True)
    ]
    print(
        f"speed-up (examples/s, this trainer / baseline): median {statistics.median(ratios):.2f}x, per round "
        f"{', '.join(f'{r:.2f}x' for r in ratios)}  (target >= 2x)"
    )
    print(
        f"completion-token loss of one fixed batch of {config.batch_size} (float64): packed {ours:.8f}, one padded "
        f"pass per task {padded:.8f}, difference {abs(ours - padded):.2e}  (target <= 1e-5)"
    )


if __name__ == "__main__":
    main()
