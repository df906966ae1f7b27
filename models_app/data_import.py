"""Importing files into the store: questions of any registry dataset (CQA, StrategyQA, e-SNLI) and recorded
teacher outputs.

An import is all or nothing: the file is validated whole by the library (`training.cqa`,
`training.teacher_outputs`), then checked against what is stored, then written in one transaction. Every problem is
reported with its line as a `training.cqa.DataError`. Importing the same file again stores nothing new; a file that
would change something already stored is refused, since runs may have used it.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from training.cqa import DataError, Problem, load_questions, read_jsonl
from training.datasets import DATASETS, dataset_of_file, dataset_spec, split_of_file_name
from training.teacher_outputs import RECORDED_FIELDS, TeacherExplanations, read_teacher_file
from training.teacher_outputs import TeacherOutput as OutputRecord

from .models import OPTION_LABELS, Dataset, GenerationRun, Question, Run, Teacher, TeacherOutput
from .records import BATCH_SIZE, store_teacher_outputs

LOG_TAIL_CHARS = 5000


@dataclass(frozen=True)
class ImportSummary:
    dataset: Dataset
    created: int  # rows stored by this import
    unchanged: int  # rows the file holds that were already stored, identical
    generation_run: GenerationRun | None = None

    def __str__(self) -> str:
        where = f"generation run #{self.generation_run.pk} of " if self.generation_run else ""
        return f"{self.created:,} new and {self.unchanged:,} already stored in {where}dataset {self.dataset}"


def split_from_file_name(name: str) -> str | None:
    """The split a CQA file's name says it holds (cqa_train.jsonl, validation.jsonl, ...), if any."""
    return split_of_file_name(name)


def _shown_as(error: DataError, name: str) -> DataError:
    """The library names the file it read; an upload is known by its own name, not its temporary path."""
    return DataError([replace(problem, file=name) for problem in error.problems])


def _lines_of(path: Path, ids: Iterable[str]) -> dict[str, int]:
    """First line of each id in a (valid) JSONL file: to point at the lines of problems found in the store."""
    wanted = set(ids)
    lines: dict[str, int] = {}
    for line, obj in read_jsonl(path, []):
        if obj.get("id") in wanted:
            lines.setdefault(obj["id"], line)
    return lines


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _kind_of(name: str, path: Path, dataset_name: str, kind: str | None) -> str:
    """The registry dataset the file holds: `kind`, else what the file's name or fields say; it must be the stored
    dataset's."""
    if kind and kind not in DATASETS:
        raise DataError(
            [Problem(name, 0, "dataset", f"unknown dataset {kind!r}; expected one of {tuple(DATASETS)}")]
        )
    stored = Dataset.objects.filter(name=dataset_name).values_list("kind", flat=True).first()
    found = kind or dataset_of_file(path, name)
    if stored and found != stored:
        raise DataError(
            [
                Problem(
                    name,
                    0,
                    "dataset",
                    f"dataset {dataset_name} holds {dataset_spec(stored).title} questions, not "
                    f"{dataset_spec(found).title}: import into another dataset",
                )
            ]
        )
    return found


def import_questions(
    *,
    path: str | Path,
    dataset_name: str,
    split: str | None = None,
    source_name: str | None = None,
    kind: str | None = None,
) -> ImportSummary:
    """Import a JSONL file of questions into a dataset, creating the dataset if new.

    `kind` is the registry dataset (cqa, strategyqa, esnli); by default the stored dataset's, or what the file's
    name (strategyqa_train.jsonl) or first row's fields say. `split` defaults to what the file name says
    (cqa_train.jsonl → train, esnli_test.jsonl → test). `source_name` is how problems name the file (an upload's
    own name); it defaults to the path.
    """
    path = Path(path)
    name = source_name or str(path)
    kind = _kind_of(name, path, dataset_name, kind)
    split = split or split_from_file_name(name)
    splits = dataset_spec(kind).splits
    if split not in splits:
        raise DataError([Problem(name, 0, "split", f"say which split the file holds: {' or '.join(splits)}")])
    try:
        questions = load_questions(path, kind)
    except DataError as exc:
        raise _shown_as(exc, name) from None

    with transaction.atomic():
        dataset, _ = Dataset.objects.get_or_create(name=dataset_name, defaults={"source": name, "kind": kind})
        stored = {
            qid: (row_split, text, choices, key, fields)
            for qid, row_split, text, choices, key, fields in Question.objects.filter(
                dataset=dataset
            ).values_list("external_id", "split", "text", "choices", "answer_key", "fields")
        }
        new, unchanged, changed = [], 0, []
        for question in questions:
            values = (split, question.question, list(question.choices), question.answer_key, question.fields)
            if question.id not in stored:
                new.append(question)
            elif stored[question.id] == values:
                unchanged += 1
            else:
                changed.append((question.id, _difference(stored[question.id], values)))
        if changed:
            lines = _lines_of(path, (qid for qid, _ in changed))
            raise DataError(
                [
                    Problem(
                        name,
                        lines.get(qid, 0),
                        "id",
                        f"question {qid} is already stored in dataset {dataset} with a different {what}; "
                        "stored questions are never changed (runs may have used them): import into a new dataset",
                    )
                    for qid, what in changed
                ]
            )
        Question.objects.bulk_create(
            [
                Question(
                    dataset=dataset,
                    external_id=q.id,
                    split=split,
                    text=q.question,
                    choices=list(q.choices),
                    answer_key=q.answer_key,
                    fields=q.fields,
                )
                for q in new
            ],
            batch_size=BATCH_SIZE,
        )
    return ImportSummary(dataset=dataset, created=len(new), unchanged=unchanged)


def _difference(stored: tuple, incoming: tuple) -> str:
    names = ("split", "text", "choices", "answer", "fields")
    return ", ".join(name for name, a, b in zip(names, stored, incoming, strict=True) if a != b)


def records_from_recorded(item: TeacherExplanations, params: dict) -> list[OutputRecord]:
    """The recorded layout (one object per question) as one output record per kind and option."""
    records = [
        OutputRecord(id=item.id, kind=kind, text=getattr(item, kind), params=params)
        for kind in RECORDED_FIELDS
        if getattr(item, kind) is not None
    ]
    if item.option_explanations is not None:
        records += [
            OutputRecord(id=item.id, kind="option_explanation", option_label=label, text=text, params=params)
            for label, text in zip(OPTION_LABELS, item.option_explanations, strict=False)
            if text is not None
        ]
    return records


def import_teacher_outputs(
    *,
    path: str | Path,
    dataset: Dataset,
    teacher_name: str,
    source_name: str | None = None,
    created_by: AbstractBaseUser | None = None,
    only_dataset_questions: bool = False,
) -> ImportSummary:
    """Import a teacher output file as a succeeded generation run of a recorded teacher.

    With `only_dataset_questions`, outputs for questions the dataset does not hold are left out instead of
    refused (a file for a whole split imported into a dataset that holds a sample of it).

    The file is in the recorded layout (`teacher_llama2_*.jsonl`: one object per question) or holds the output
    records `python -m training generate` writes. The questions must be in `dataset` already, all of one split;
    the teacher is created (backend `recorded`) if new. Importing into the same teacher, dataset and split adds to
    the same generation run.
    """
    path = Path(path)
    name = source_name or str(path)
    try:
        outputs, recorded = read_teacher_file(path)
    except DataError as exc:
        raise _shown_as(exc, name) from None
    params = {"backend": Teacher.Backend.RECORDED.value, "source": Path(name).name}
    records = outputs + [record for item in recorded for record in records_from_recorded(item, params)]
    if only_dataset_questions:
        held = set(Question.objects.filter(dataset=dataset).values_list("external_id", flat=True))
        records = [record for record in records if record.id in held]
    if not records:
        where = f" for the questions of dataset {dataset}" if only_dataset_questions else ""
        raise DataError([Problem(name, 0, "", f"the file holds no teacher outputs{where}")])

    with transaction.atomic():
        questions = {
            qid: (pk, split)
            for qid, pk, split in Question.objects.filter(
                dataset=dataset, external_id__in={r.id for r in records}
            ).values_list("external_id", "pk", "split")
        }
        problems = _unknown_or_mixed(path, name, records, questions, dataset)
        if problems:
            raise DataError(problems)
        split = next(iter(questions.values()))[1]
        teacher = _recorded_teacher(teacher_name, name)
        run = (
            GenerationRun.objects.select_for_update()
            .filter(teacher=teacher, dataset=dataset, split=split, method=GenerationRun.Method.RECORDED)
            .first()
        )
        if run is None:
            now = timezone.now()
            run = GenerationRun.objects.create(
                teacher=teacher,
                dataset=dataset,
                split=split,
                method=GenerationRun.Method.RECORDED,
                name=f"recorded outputs of {teacher} ({split})",
                status=Run.Status.SUCCEEDED,
                created_by=created_by,
                started_at=now,
                finished_at=now,
                config={"imports": []},
            )

        latest = {(questions[r.id][0], r.kind, r.option_label): r for r in records}
        stored_texts = {
            (qpk, kind, label): text
            for qpk, kind, label, text in TeacherOutput.objects.filter(generation_run=run).values_list(
                "question_id", "kind", "option_label", "text"
            )
        }
        changed = [r for key, r in latest.items() if key in stored_texts and stored_texts[key] != r.text]
        if changed:
            lines = _lines_of(path, {r.id for r in changed})
            raise DataError(
                [
                    Problem(
                        name,
                        lines.get(r.id, 0),
                        r.kind,
                        f"{r.kind}{' ' + r.option_label if r.option_label else ''} of question {r.id} differs from "
                        f"the one stored in {run}; stored outputs are never changed (runs may have used them): "
                        "import the file under another teacher name to keep both",
                    )
                    for r in changed
                ]
            )
        created = store_teacher_outputs(
            generation_run=run, outputs=(r for key, r in latest.items() if key not in stored_texts)
        )
        _record_import(run, name, path, created, len(latest) - created)
    return ImportSummary(
        dataset=dataset, created=created, unchanged=len(latest) - created, generation_run=run
    )


def _unknown_or_mixed(
    path: Path, name: str, records: list[OutputRecord], questions: dict, dataset: Dataset
) -> list[Problem]:
    unknown = sorted({r.id for r in records} - questions.keys())
    if unknown:
        lines = _lines_of(path, unknown)
        return sorted(
            (
                Problem(
                    name,
                    lines.get(qid, 0),
                    "id",
                    f"question {qid} is not in dataset {dataset}; import it first",
                )
                for qid in unknown
            ),
            key=lambda p: p.line,
        )
    labels = OPTION_LABELS[: dataset.spec.option_count]
    extra = sorted({r.id for r in records if r.option_label and r.option_label not in labels})
    if extra:
        lines = _lines_of(path, extra)
        return [
            Problem(
                name,
                lines.get(qid, 0),
                "option_explanations",
                f"question {qid} has {len(labels)} options ({dataset.spec.title}), the file explains more",
            )
            for qid in extra
        ]
    splits = sorted({split for _, split in questions.values()})
    if len(splits) > 1:
        return [Problem(name, 0, "id", f"the file mixes questions of the {' and '.join(splits)} splits")]
    return []


def _recorded_teacher(teacher_name: str, source: str) -> Teacher:
    teacher, _ = Teacher.objects.get_or_create(
        name=teacher_name, defaults={"backend": Teacher.Backend.RECORDED, "model": source}
    )
    if teacher.backend != Teacher.Backend.RECORDED:
        raise DataError(
            [
                Problem(
                    source,
                    0,
                    "teacher",
                    f"teacher {teacher_name!r} exists with backend {teacher.backend}; recorded outputs need a "
                    "teacher of backend 'recorded': give another name",
                )
            ]
        )
    return teacher


def _record_import(run: GenerationRun, name: str, path: Path, created: int, unchanged: int) -> None:
    """Note the import on the run: its file and checksum in the config, a line in the log, the question count."""
    now = timezone.now()
    run.config.setdefault("imports", []).append(
        {
            "file": name,
            "sha256": _file_sha256(path),
            "created": created,
            "unchanged": unchanged,
            "at": now.isoformat(),
        }
    )
    line = f"{now:%Y-%m-%d %H:%M:%S} imported {name}: {created:,} new outputs, {unchanged:,} already stored"
    run.log_tail = f"{run.log_tail}\n{line}".strip()[-LOG_TAIL_CHARS:]
    questions = TeacherOutput.objects.filter(generation_run=run).values("question_id").distinct().count()
    run.progress_done = run.progress_total = questions
    run.finished_at = now
    run.save(update_fields=["config", "log_tail", "progress_done", "progress_total", "finished_at"])
