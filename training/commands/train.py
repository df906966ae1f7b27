"""`python -m training train`: train a student on CQA with a teacher's explanations.

Every `TrainConfig` setting is an option (`--max-steps 30`, `--method counterfactual`, ...); `--preset paper`
sets the study's exact choices (formats, text sources, wrong option, label length, final weights), and options
given explicitly win over the preset. The held-out questions are the paper's 10% of the train file. Ctrl-C stops cleanly with a checkpoint; the same command
resumes. Writes `train_result.json` into the output folder.
"""

import argparse
import json
import os
import signal
from collections.abc import Mapping
from dataclasses import MISSING, fields
from pathlib import Path

from tqdm import tqdm

from ..cli import add_dataset_options
from ..config import TrainConfig, allowed_values
from ..cqa import EVAL_FRACTION, load_split, train_eval_split
from ..presets import PRESETS, preset_settings
from ..students import is_causal_student
from ..teacher_outputs import load_teacher_explanations
from ..trainer import Progress, train

RESULT_FILE = "train_result.json"


def _tri_state(text: str) -> bool | None:
    values = {"auto": None, "true": True, "false": False}
    if text.lower() not in values:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(values)}, got {text!r}")
    return values[text.lower()]


def _boolean(text: str) -> bool:
    values = {"true": True, "false": False}
    if text.lower() not in values:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return values[text.lower()]


def _choices(metadata: Mapping) -> tuple | None:
    if "choices" not in metadata:
        return None
    return (metadata["off"], *metadata["choices"]) if "off" in metadata else metadata["choices"]


def _allowed(metadata: Mapping) -> str:
    """A range in words, before the default; choices argparse shows itself."""
    return "" if "choices" in metadata or not allowed_values(metadata) else f"{allowed_values(metadata)}; "


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default="project",
        help="project: the library's defaults; paper: the study's exact choices (see training/README.md)",
    )
    group = parser.add_argument_group("training settings (defaults: the project preset's)")
    for spec in fields(TrainConfig):
        default = spec.default if spec.default is not MISSING else None
        kind = _tri_state if default is None else _boolean if isinstance(default, bool) else type(default)
        shown = "auto" if default is None else default
        group.add_argument(
            "--" + spec.name.replace("_", "-"),
            dest=spec.name,
            type=kind,
            default=argparse.SUPPRESS,  # given options are told apart from the preset's values
            choices=_choices(spec.metadata),
            help=f"{spec.metadata.get('help', '')} ({_allowed(spec.metadata)}default: {shown})".strip(),
        )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset's settings for the method, overridden by the options given."""
    given = {spec.name: getattr(args, spec.name) for spec in fields(TrainConfig) if hasattr(args, spec.name)}
    method = given.get("method", TrainConfig.method)
    causal = is_causal_student(given.get("student", TrainConfig.student))
    return TrainConfig(**(preset_settings(args.preset, method, causal=causal) | given))


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a student", description=__doc__)
    parser.add_argument(
        "--data",
        required=True,
        help="a data folder like ../shared/data/strategyqa, a train JSONL file, or hub[:NAME]",
    )
    parser.add_argument(
        "--teacher", nargs="+", default=[], help="teacher output files (generation or recorded)"
    )
    parser.add_argument("--output", required=True, help="folder for checkpoints and the result")
    parser.add_argument(
        "--eval-fraction", type=float, default=EVAL_FRACTION, help="held-out share of the train file"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use the first N questions of the train file only (the held-out share is taken from them)",
    )
    add_config_options(parser)
    add_dataset_options(parser, split_default="train", split=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    questions = load_split(args.data, "train", args.dataset)
    train_questions, eval_questions = train_eval_split(
        questions[: args.limit] if args.limit else questions, eval_fraction=args.eval_fraction, seed=0
    )
    teacher = load_teacher_explanations(args.teacher)
    print(f"{len(train_questions)} train and {len(eval_questions)} held-out questions")

    stop_requested = False

    def request_stop(signum, frame):
        nonlocal stop_requested
        stop_requested = True
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C interrupts at once
        tqdm.write("stopping after this step (a checkpoint is saved; run the same command to resume)")

    main_process = int(os.environ.get("RANK", "0")) == 0  # under torchrun, the first process reports
    bar = tqdm(total=config.max_steps, unit="step", dynamic_ncols=True, disable=not main_process)

    def show(progress: Progress) -> None:
        bar.n = progress.step
        if progress.loss is not None:
            bar.set_postfix(loss=f"{progress.loss:.4f}", refresh=False)
        bar.refresh()

    # One process: Ctrl-C stops cleanly. Several: the processes would not see it at the same step, so it
    # interrupts them, and the same command resumes from the last periodic checkpoint.
    single = int(os.environ.get("WORLD_SIZE", "1")) == 1
    previous = signal.signal(signal.SIGINT, request_stop) if single else signal.getsignal(signal.SIGINT)
    try:
        result = train(
            config,
            train_questions=train_questions,
            eval_questions=eval_questions,
            teacher=teacher,
            output_dir=args.output,
            progress=show,
            should_stop=lambda: stop_requested,
            log=tqdm.write,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    if not main_process:
        return 1 if result.status == "diverged" else 0
    path = Path(args.output) / RESULT_FILE
    path.write_text(json.dumps(result.to_json(), indent=2))
    print(
        f"{result.status} at step {result.global_step}/{result.max_steps}; best held-out accuracy "
        f"{result.best_eval_accuracy}; best checkpoint {result.best_checkpoint}; last {result.last_checkpoint}; "
        f"evaluate {result.evaluated_checkpoint} ({config.evaluated_checkpoint})"
    )
    if result.divergence_reason:
        print(f"diverged: {result.divergence_reason}")
    print(f"result: {path}")
    return 1 if result.status == "diverged" else 0
