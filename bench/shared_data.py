"""The real CQA data the benchmarks read (../shared/data/cqa, never committed): its options and its loader."""

import argparse
from pathlib import Path

from training.cqa import Question, load_split
from training.teacher_outputs import TeacherExplanations, load_teacher_explanations

SHARED_CQA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cqa"
RECORDED_TEACHER = "teacher_llama2_train.jsonl"  # the study's LLaMA-2 explanations of the train questions


def add_cqa_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, default=SHARED_CQA, help="folder with cqa_train.jsonl and the teacher file"
    )
    parser.add_argument("--teacher", default="", help=f"default: DATA/{RECORDED_TEACHER}")


def load_cqa_train(
    parser: argparse.ArgumentParser, options: argparse.Namespace
) -> tuple[list[Question], dict[str, TeacherExplanations]]:
    """The train questions and the recorded teacher's outputs for them; a missing folder stops the bench."""
    data = Path(options.data)
    if not (data / "cqa_train.jsonl").is_file():
        parser.error(f"no cqa_train.jsonl in {data}: pass --data with the shared CQA folder")
    teacher = load_teacher_explanations([Path(options.teacher or data / RECORDED_TEACHER)])
    return load_split(data, "train"), teacher
