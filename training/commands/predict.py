"""`python -m training predict`: a trained student's answers and explanations on a split, as JSONL."""

import argparse

from tqdm import tqdm

from ..cli import add_dataset_options, split_of
from ..config import INFERENCE_MODES
from ..cqa import load_split
from ..inference import predict
from ..prediction_files import write_jsonl


def register(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="predict with a trained student", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint folder written by `train`")
    parser.add_argument(
        "--data",
        required=True,
        help="a data folder like ../shared/data/esnli, a JSONL file of questions, or hub[:NAME]",
    )
    add_dataset_options(parser, split_default=None)
    parser.add_argument("--output", required=True, help="JSONL file for the predictions")
    parser.add_argument("--mode", choices=tuple(INFERENCE_MODES), help="default: the method's")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--max-new-tokens", type=int)
    parser.add_argument("--limit", type=int, default=0, help="the first N questions only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    questions = load_split(args.data, split_of(args), args.dataset)
    if args.limit:
        questions = questions[: args.limit]
    with tqdm(unit="output", dynamic_ncols=True) as bar:

        def show(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        records = predict(
            args.checkpoint,
            questions,
            mode=args.mode,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            progress=show,
        )
    write_jsonl((r.to_json() for r in records), args.output)
    correct = sum(r.correct for r in records)
    print(f"{len(records)} predictions, accuracy {correct / len(records):.4f}; written to {args.output}")
    return 0
