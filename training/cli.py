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
