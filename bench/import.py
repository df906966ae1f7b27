"""Import of a dataset's full train split and its recorded teacher outputs, on the configured database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/distill .venv/bin/python bench/import.py [--data ../shared/data/cqa]
    ... bench/import.py --data ../shared/data/esnli      # e-SNLI: 10,983 pairs and their teacher outputs

Runs in a throwaway database (`test_<name>`, created and dropped like the test suite's) and prints:
- the time of each import, first and again (the second stores nothing: no duplicates);
- the time to read the stored outputs back as the library's explanations (what a training job does first);
- bulk storing vs one INSERT per output on the same records, and their ratio.
The issues ask for the questions and the teacher outputs of the train split in under a minute together (CQA,
issue 1; e-SNLI, issue 16). The dataset is read from the folder's files (cqa_train.jsonl, esnli_train.jsonl, ...).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distill_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from models_app import records, selectors  # noqa: E402
from models_app.data_import import import_questions, import_teacher_outputs, records_from_recorded  # noqa: E402
from models_app.models import GenerationRun, TeacherOutput, TrainingRun  # noqa: E402
from training.cqa import split_file  # noqa: E402
from training.datasets import dataset_of_folder  # noqa: E402
from training.teacher_outputs import read_teacher_file  # noqa: E402

COMPARED_RECORDS = 3000


def timed(label: str, func):
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    print(f"{label:<58} {seconds:7.2f} s   {result}")
    return result, seconds


class Rollback(Exception):
    pass


def compare_bulk_with_row_by_row(run: GenerationRun, teacher_file: Path) -> None:
    """Store the same records twice in a new run, in bulk and one row at a time; nothing is kept."""
    _, recorded = read_teacher_file(teacher_file)
    sample = [r for item in recorded for r in records_from_recorded(item, {"backend": "recorded"})][
        :COMPARED_RECORDS
    ]
    question_pks = dict(run.dataset.questions.values_list("external_id", "pk"))
    timings = {}
    for how in ("bulk", "row by row"):
        try:
            with transaction.atomic():
                target = GenerationRun.objects.create(
                    teacher=run.teacher, dataset=run.dataset, split=run.split, method="explain", name=how
                )
                start = time.perf_counter()
                if how == "bulk":
                    records.store_teacher_outputs(generation_run=target, outputs=sample)
                else:
                    for r in sample:
                        TeacherOutput.objects.create(
                            generation_run=target,
                            question_id=question_pks[r.id],
                            kind=r.kind,
                            option_label=r.option_label,
                            text=r.text,
                            params=r.params,
                        )
                timings[how] = time.perf_counter() - start
                raise Rollback
        except Rollback:
            pass
    print(
        f"{COMPARED_RECORDS:,} outputs: bulk {timings['bulk']:.2f} s, row by row {timings['row by row']:.2f} s, "
        f"ratio {timings['row by row'] / timings['bulk']:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default=str(ROOT.parent / "shared" / "data" / "cqa"),
        help="a data folder laid out like ../shared/data/cqa (or strategyqa, esnli)",
    )
    args = parser.parse_args()
    data = Path(args.data)
    try:
        kind = dataset_of_folder(data)
        questions_file = split_file(data, "train", kind)
    except FileNotFoundError as error:
        sys.exit(f"{error}: pass --data with a folder laid out like ../shared/data/cqa")
    teacher_files = sorted(data.glob("teacher_*_train.jsonl"))
    if not teacher_files:
        sys.exit(f"no teacher_*_train.jsonl in {data}: the recorded teacher outputs of the train split")
    teacher_file = teacher_files[0]
    print(f"dataset: {kind}, {questions_file.name} and {teacher_file.name}")

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']} (a throwaway copy is used)")
    if connection.vendor != "postgresql":
        print("note: the target is PostgreSQL; set DATABASE_URL=postgres://... to measure it")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        total = 0.0
        summary, seconds = timed(
            "questions, train (first import)",
            lambda: import_questions(path=questions_file, dataset_name=kind),
        )
        total += seconds
        dataset = summary.dataset
        summary, seconds = timed(
            "teacher outputs, train (first import)",
            lambda: import_teacher_outputs(path=teacher_file, dataset=dataset, teacher_name="llama"),
        )
        total += seconds
        print(f"{'both, first import':<58} {total:7.2f} s   (target: under 60 s)")
        timed(
            "questions, train (again: nothing new)",
            lambda: import_questions(path=questions_file, dataset_name=kind),
        )
        timed(
            "teacher outputs, train (again: nothing new)",
            lambda: import_teacher_outputs(path=teacher_file, dataset=dataset, teacher_name="llama"),
        )
        run = summary.generation_run
        training_run = TrainingRun.objects.create(
            dataset=dataset, student="t5-small", method="multitask", data_variant="revised"
        )
        training_run.generation_runs.set([run])
        timed(
            "read back as TeacherExplanations for a training run",
            lambda: f"{len(selectors.teacher_explanations(training_run=training_run)):,} questions",
        )
        compare_bulk_with_row_by_row(run, teacher_file)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
