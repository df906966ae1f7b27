"""`python -m training <command> ...`: the library's command line.

Each command lives in its own module exposing `register(subparsers)`, which adds a sub-parser whose
`func` default takes the parsed arguments and returns an exit code.
"""

import argparse
import importlib
import sys

COMMAND_MODULES: list[str] = [
    "training.commands.generate",
    "training.commands.train",
    "training.commands.predict",
    "training.commands.evaluate",
    "training.commands.formats",
]


def add_dataset_options(
    parser: argparse.ArgumentParser, *, split_default: str | None, split: bool = True
) -> None:
    """`--dataset` and (with `split`) `--split`; without `--split`, `split_default` or (None) the dataset's test
    split."""
    from .datasets import DATASETS

    parser.add_argument(
        "--dataset",
        choices=tuple(DATASETS),
        help="which dataset the data holds (default: what the folder's or file's names say; `hub:NAME` names it)",
    )
    if not split:
        return
    default = split_default or "the dataset's test split: validation for cqa, test for strategyqa and esnli"
    parser.add_argument(
        "--split", default=split_default, help=f"train, validation or test (default: {default})"
    )


def split_of(args: argparse.Namespace) -> str:
    from .datasets import dataset_of_source, dataset_spec

    return args.split or dataset_spec(dataset_of_source(args.data, args.dataset)).test_split


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training", description="Distil LLM explanations into small seq2seq students."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="command")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
