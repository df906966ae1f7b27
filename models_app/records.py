"""Storing what jobs yield (teacher outputs, predictions, checkpoints) in bulk and idempotently.

The library hands records to its caller; these services turn them into rows. A record that is already stored is
skipped, so a resumed job can hand over everything again without creating duplicates.
"""

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice

from django.db import transaction

from training.teacher_outputs import TeacherOutput as OutputRecord

from .models import (
    OPTION_LABELS,
    Checkpoint,
    Dataset,
    GenerationRun,
    InferenceRun,
    Prediction,
    Question,
    TeacherOutput,
    TrainingRun,
)

BATCH_SIZE = 2000
NUL_STAND_IN = (
    "\ufffd"  # PostgreSQL text cannot hold NUL; a model that writes one gets the replacement character
)


def storable(text: str) -> str:
    return text.replace("\x00", NUL_STAND_IN)


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _question_pks(dataset_id: int, ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """external id -> (question pk, answer key), for the ids that exist in the dataset."""
    return {
        qid: (pk, key)
        for qid, pk, key in Question.objects.filter(
            dataset_id=dataset_id, external_id__in=set(ids)
        ).values_list("external_id", "pk", "answer_key")
    }


def _require_known(ids: Iterable[str], known: Mapping[str, object], dataset_id: int) -> None:
    unknown = sorted(set(ids) - known.keys())
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ValueError(
            f"{len(unknown)} question id(s) are not in dataset {Dataset.objects.get(pk=dataset_id)}: {shown}"
        )


def store_teacher_outputs(*, generation_run: GenerationRun, outputs: Iterable[OutputRecord]) -> int:
    """Store the library's teacher output records as rows of the run; returns how many were new.

    Records of an unknown question are refused (ValueError, nothing stored); records already stored for the
    same question, kind and option are skipped.
    """
    stored = 0
    for batch in batched(outputs, BATCH_SIZE):
        questions = _question_pks(generation_run.dataset_id, (record.id for record in batch))
        _require_known((record.id for record in batch), questions, generation_run.dataset_id)
        # A later record of the same question, kind and option wins within a batch.
        latest = {(questions[r.id][0], r.kind, r.option_label): r for r in batch}
        present = set(
            TeacherOutput.objects.filter(
                generation_run=generation_run, question_id__in={key[0] for key in latest}
            ).values_list("question_id", "kind", "option_label")
        )
        rows = [
            TeacherOutput(
                generation_run=generation_run,
                question_id=question_id,
                kind=record.kind,
                option_label=record.option_label,
                text=storable(record.text),
                prompt=storable(record.prompt),
                flags=list(record.flags),
                params=record.params,
                prompt_tokens=int(record.usage.get("prompt_tokens") or 0),
                completion_tokens=int(record.usage.get("completion_tokens") or 0),
                cache_key=record.cache_key,
            )
            for (question_id, _, _), record in latest.items()
            if (question_id, record.kind, record.option_label) not in present
        ]
        # ignore_conflicts: a row stored meanwhile by another worker on the same run is not an error.
        TeacherOutput.objects.bulk_create(rows, batch_size=BATCH_SIZE, ignore_conflicts=True)
        stored += len(rows)
    return stored


PREDICTION_FIELDS = ("id", "predicted_label", "explanation", "raw_output", "parse_rule")


def store_predictions(*, inference_run: InferenceRun, predictions: Iterable[Mapping]) -> int:
    """Store predictions of the run; returns how many were new.

    Each prediction is a mapping with the question's `id` and its `predicted_label` (A–E, or "" when no option
    matched), and optionally `explanation`, `raw_output` and `parse_rule`. Correctness is decided here, against
    the stored answer key. Questions already predicted in this run are skipped.
    """
    stored = 0
    for batch in batched(predictions, BATCH_SIZE):
        for prediction in batch:
            extra = set(prediction) - set(PREDICTION_FIELDS)
            if extra or "id" not in prediction or "predicted_label" not in prediction:
                raise ValueError(
                    f"a prediction needs 'id' and 'predicted_label' and may have {PREDICTION_FIELDS[2:]}; "
                    f"got keys {sorted(prediction)}"
                )
            if prediction["predicted_label"] not in ("", *OPTION_LABELS):
                raise ValueError(
                    f"prediction for {prediction['id']}: predicted_label must be one of A–E or empty, "
                    f"got {prediction['predicted_label']!r}"
                )
        questions = _question_pks(inference_run.dataset_id, (p["id"] for p in batch))
        _require_known((p["id"] for p in batch), questions, inference_run.dataset_id)
        latest = {questions[p["id"]][0]: p for p in batch}
        present = set(
            Prediction.objects.filter(inference_run=inference_run, question_id__in=latest).values_list(
                "question_id", flat=True
            )
        )
        rows = [
            Prediction(
                inference_run=inference_run,
                question_id=question_id,
                predicted_label=p["predicted_label"],
                correct=p["predicted_label"] == questions[p["id"]][1],
                explanation=storable(p.get("explanation", "")),
                raw_output=storable(p.get("raw_output", "")),
                parse_rule=p.get("parse_rule", ""),
            )
            for question_id, p in latest.items()
            if question_id not in present
        ]
        Prediction.objects.bulk_create(rows, batch_size=BATCH_SIZE, ignore_conflicts=True)
        stored += len(rows)
    return stored


CHECKPOINT_PATH_FIELD = {Checkpoint.Role.BEST: "best_checkpoint", Checkpoint.Role.LAST: "last_checkpoint"}


@transaction.atomic
def store_checkpoint(
    *, training_run: TrainingRun, role: str, step: int, path: str, eval_accuracy: float | None = None
) -> Checkpoint:
    """Record the run's best or last checkpoint (replacing the previous one of that role)."""
    checkpoint, _ = Checkpoint.objects.update_or_create(
        training_run=training_run,
        role=role,
        defaults={"step": step, "path": path, "eval_accuracy": eval_accuracy},
    )
    TrainingRun.objects.filter(pk=training_run.pk).update(
        **{CHECKPOINT_PATH_FIELD[Checkpoint.Role(role)]: path}
    )
    return checkpoint
