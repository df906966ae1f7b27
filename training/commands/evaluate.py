"""`python -m training evaluate`: every metric of a student on a split.

With `--checkpoint`, predict first (and probe counterfactuals when `--teacher` is given); with
`--predictions`, score a prediction file: ours, or recorded student outputs (`id`, `predicted_answer`,
`explanation`). ROUGE-L needs `--teacher` and a data variant; consistency uses the packaged MiniLM.
"""

import argparse
import json
from pathlib import Path

from ..cli import add_dataset_options, split_of
from ..config import DATA_VARIANTS, INFERENCE_MODES
from ..cqa import load_split
from ..embeddings import default_encoder
from ..evaluation import evaluate
from ..metrics import prediction_metrics
from ..prediction_files import read_predictions, write_jsonl
from ..teacher_outputs import load_teacher_explanations


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="metrics of a student on a split", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a checkpoint folder written by `train`")
    source.add_argument("--predictions", help="a prediction JSONL file")
    parser.add_argument(
        "--data",
        required=True,
        help="a data folder like ../shared/data/esnli, a JSONL file of questions, or hub[:NAME]",
    )
    add_dataset_options(parser, split_default=None)
    parser.add_argument("--teacher", nargs="*", default=[], help="teacher output files of the split")
    parser.add_argument("--data-variant", choices=tuple(DATA_VARIANTS), help="default: the checkpoint's")
    parser.add_argument(
        "--mode", choices=tuple(INFERENCE_MODES), help="with --checkpoint; default: the method's"
    )
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--limit", type=int, default=0, help="the first N questions only")
    parser.add_argument("--output-dir", help="write metrics.json (and predictions.jsonl, probes.jsonl) there")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    questions = load_split(args.data, split_of(args), args.dataset)
    if args.limit:
        questions = questions[: args.limit]
    teacher = load_teacher_explanations(args.teacher) if args.teacher else None
    predictions = probes = None
    if args.checkpoint:
        result = evaluate(
            args.checkpoint,
            questions,
            teacher=teacher,
            data_variant=args.data_variant,
            mode=args.mode,
            batch_size=args.batch_size,
        )
        metrics, predictions, probes = result.metrics, result.predictions, result.probes
    else:
        by_id = {q.id: q for q in questions}
        predictions = read_predictions(args.predictions, by_id)
        metrics = prediction_metrics(
            predictions,
            by_id,
            teacher=teacher,
            data_variant=args.data_variant,
            encoder=default_encoder() if any(p.explanation for p in predictions) else None,
        ) | {"predictions": args.predictions}
    print(json.dumps(metrics, indent=2))
    if args.output_dir:
        folder = Path(args.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if args.checkpoint:
            write_jsonl((p.to_json() for p in predictions), folder / "predictions.jsonl")
            write_jsonl((p.to_json() for p in probes), folder / "probes.jsonl")
    return 0
