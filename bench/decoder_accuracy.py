"""Benchmark: accuracy of the SmolLM2 student on real CQA validation questions, zero-shot and fine-tuned.

    python bench/decoder_accuracy.py --data ../shared/data/cqa [--questions 300] [--minutes 20] \
        [--methods multitask multitask_counterfactual] [--train-questions 2000]

Zero-shot: the bundled SmolLM2-135M-Instruct is asked the `[predict]` prompt (the format the students learn); its
answer is read by the students' rules (`generated`), and separately the option whose "The answer is {option}" it
finds likeliest is taken (`scored`). Fine-tuned: a LoRA student (rank 8, q_proj and v_proj, lr 1e-3) trained on the
LLaMA-2 teacher's explanations of the train questions for each method, stopped after `--minutes` (a checkpoint is
saved), then asked the same questions. Accuracy with its 95% percentile-bootstrap interval (10,000 resamples), the
way the study's extension reports accuracy. It takes about `--minutes` × methods plus a few minutes of inference.
"""

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import TrainConfig  # noqa: E402
from training.cqa import load_split, train_eval_split  # noqa: E402
from training.inference import GenerationSettings, load_checkpoint, predict_questions  # noqa: E402
from training.intervals import share_interval  # noqa: E402
from training.students import load_student  # noqa: E402
from training.teacher_outputs import load_teacher_explanations  # noqa: E402
from training.trainer import train  # noqa: E402


def report(label: str, records) -> None:
    correct = sum(r.correct for r in records)
    low, high = share_interval(correct, len(records))
    rules = {}
    for r in records:
        rules[r.parse_rule] = rules.get(r.parse_rule, 0) + 1
    print(
        f"{label:>40}: accuracy {correct / len(records):.1%} ({correct}/{len(records)}), 95% CI "
        f"[{low:.1%}, {high:.1%}]; answers read by {dict(sorted(rules.items()))}",
        flush=True,
    )


def accuracies(label: str, model, tokenizer, questions, settings: GenerationSettings) -> None:
    for scored in (False, True):
        records = predict_questions(
            model,
            tokenizer,
            questions,
            mode="predict",
            settings=dataclasses.replace(settings, score_unmatched_answers=scored),
        )
        report(f"{label} ({'scored when unmatched' if scored else 'generated'})", records)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="../shared/data/cqa")
    parser.add_argument("--questions", type=int, default=300, help="validation questions (the first N)")
    parser.add_argument("--train-questions", type=int, default=2000, help="train questions (the first N)")
    parser.add_argument("--methods", nargs="+", default=["multitask", "multitask_counterfactual"])
    parser.add_argument("--minutes", type=float, default=20.0, help="training time per method")
    parser.add_argument(
        "--max-steps", type=int, default=2000, help="an upper bound; time usually stops first"
    )
    parser.add_argument("--threads", type=int, default=0)
    options = parser.parse_args()
    if options.threads:
        torch.set_num_threads(options.threads)
    data = Path(options.data)
    validation = load_split(data, "validation")[: options.questions]
    settings = GenerationSettings(batch_size=32, answer_max_new_tokens=16)

    start = time.perf_counter()
    student = load_student("smollm2")
    accuracies("zero-shot SmolLM2-135M-Instruct", student.model, student.tokenizer, validation, settings)
    print(f"(zero-shot in {time.perf_counter() - start:.0f} s)", flush=True)

    train_questions, _ = train_eval_split(  # the paper's 90% of the train file
        load_split(data, "train")[: options.train_questions], eval_fraction=0.1, seed=0
    )
    teacher = load_teacher_explanations([data / "teacher_llama2_train.jsonl"])
    for method in options.methods:
        config = TrainConfig(
            student="smollm2",
            method=method,
            batch_size=8,
            learning_rate=1e-3,
            warmup_steps=10,
            max_steps=options.max_steps,
            eval_every=10**6,  # time, not steps, ends the run: the stop saves its checkpoint
            logging_every=25,
            lora_rank=8,
            lora_target_modules="q_proj,v_proj",
            missing_teacher="skip",
            answer_max_new_tokens=16,
        )
        deadline = time.monotonic() + options.minutes * 60
        with tempfile.TemporaryDirectory() as folder:
            result = train(
                config,
                train_questions=train_questions,
                eval_questions=[],
                teacher=teacher,
                output_dir=folder,
                should_stop=lambda deadline=deadline: time.monotonic() > deadline,
            )
            losses = [entry["loss"] for entry in result.history if "loss" in entry]
            print(
                f"{method}: {result.global_step} steps ({result.global_step * config.batch_size} questions) in "
                f"{result.wall_seconds / 60:.1f} min; logged loss {losses[:1]} -> {losses[-1:]}",
                flush=True,
            )
            trained, _ = load_checkpoint(result.last_checkpoint)
            accuracies(
                f"LoRA {method}, {result.global_step} steps",
                trained.model,
                trained.tokenizer,
                validation,
                settings,
            )
    print(f"chance: 20%; total {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
