"""`python -m training formats`: what a student is fed, one JSON object per task of each question.

Prints `{"question_id", "task", "input", "target"}` lines for the chosen preset, method and data variant;
questions without the teacher data their tasks need are named on stderr.
"""

import argparse
import json
import sys

from ..cli import add_dataset_options, split_of
from ..config import DATA_VARIANTS, METHODS, TrainConfig
from ..cqa import load_split
from ..examples import fed_examples
from ..presets import PRESETS, preset_settings
from ..teacher_outputs import load_teacher_explanations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "formats", help="print the inputs and targets a student is fed", description=__doc__
    )
    parser.add_argument("--preset", choices=PRESETS, default="project", help="default: project")
    parser.add_argument("--method", choices=METHODS, default=TrainConfig.method)
    parser.add_argument("--variant", choices=tuple(DATA_VARIANTS), default=TrainConfig.data_variant)
    parser.add_argument("--seed", type=int, default=0, help="draws the random wrong option (project preset)")
    parser.add_argument(
        "--data",
        required=True,
        help="a data folder like ../shared/data/esnli, a JSONL file of questions, or hub[:NAME]",
    )
    add_dataset_options(parser, split_default="train")
    parser.add_argument(
        "--teacher-outputs", nargs="*", default=[], help="teacher output files (generation or recorded)"
    )
    parser.add_argument("--limit", type=int, default=0, help="the first N questions only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = TrainConfig(
        **preset_settings(args.preset, args.method),
        method=args.method,
        data_variant=args.variant,
        seed=args.seed,
    )
    questions = load_split(args.data, split_of(args), args.dataset)
    if args.limit:
        questions = questions[: args.limit]
    rows, skipped = fed_examples(questions, load_teacher_explanations(args.teacher_outputs), config)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    for question_id, why in skipped.items():
        print(f"left out {question_id}: {why}", file=sys.stderr)
    return 0
