"""Reads: the export rows (ratings, participants, items, comments) and the study dashboard's figures.

`rating_rows` is the contract the analysis relies on: one dict per rating and scale, keys `RATINGS_COLUMNS`.
"""

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, Length

from models_app.models import OPTION_LABELS

from .analysis.decisions_format import DECISION_COLUMNS
from .models import Assignment, Decision, Explanation, Participant, Rating, Study

# The `condition` of an attention-check page, which shows no condition's explanation.
ATTENTION_CHECK_CONDITION = "attention_check"

_RUN = "prediction__inference_run__training_run"  # an explanation's own run (a condition may mix datasets)


def _item_columns(
    study: Study, pid: str, condition: str, check_id: int | None, qid: str, position: int
) -> dict:
    """The columns that say which item of whose sequence a row is about (an attention check's condition is
    ATTENTION_CHECK_CONDITION)."""
    return {
        "study_id": str(study.pk),
        "participant_id": pid,
        "condition": condition if check_id is None else ATTENTION_CHECK_CONDITION,
        "question_id": qid,
        "position": str(position),
    }


def _text(value) -> str:
    """CSV text: true/false for booleans, empty for missing, ISO 8601 for times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _participants(study: Study, include_test_responses: bool):
    participants = Participant.objects.filter(study=study)
    return participants if include_test_responses else participants.filter(is_test=False)


def rating_rows(*, study: Study, include_test_responses: bool = False) -> Iterator[dict[str, str]]:
    """One row per stored rating and scale, keyed by `RATINGS_COLUMNS`, all values as CSV text.

    Screened-out and returned participants and attention-check pages are kept, flagged by
    `participant_status` and `attention_check`, so that the analysis can report its exclusions;
    simulated test responses only with `include_test_responses`.
    """
    ratings = Rating.objects.filter(assignment__participant__in=_participants(study, include_test_responses))
    explanation = "assignment__explanation__"
    values = ratings.order_by(
        "assignment__participant__entered_at",
        "assignment__participant_id",
        "assignment__position",
        "scale__position",
    ).values_list(
        "assignment__participant__public_id",
        F(explanation + "condition__name"),
        Coalesce(explanation + "question__external_id", "assignment__attention_check__question__external_id"),
        "assignment__position",
        "scale__name",
        "value",
        "assignment__seconds_on_item",
        Coalesce(Length(explanation + "text"), Length("assignment__attention_check__instruction")),
        explanation + "correct",
        Coalesce(
            explanation + "question__dataset__kind", "assignment__attention_check__question__dataset__kind"
        ),
        F(f"{explanation}{_RUN}__method"),
        F(f"{explanation}{_RUN}__data_variant"),
        F(f"{explanation}{_RUN}_id"),
        F(f"{explanation}{_RUN}__seed"),
        "assignment__participant__status",
        "assignment__attention_check_id",
        "assignment__participant__is_test",
        "assignment__submitted_at",
    )
    for row in values.iterator(chunk_size=5000):
        (pid, condition, qid, position, scale, value, seconds, chars, correct, dataset) = row[:10]
        (method, variant, run_id, seed, status, check_id, is_test, rated_at) = row[10:]
        yield _item_columns(study, pid, condition, check_id, qid, position) | {
            "scale": scale,
            "value": str(value),
            "seconds_on_item": "" if seconds is None else f"{seconds:.3f}",
            "explanation_chars": _text(chars),
            "answer_correct": _text(correct),
            "dataset": dataset,
            "method": _text(method),
            "data_variant": _text(variant),
            "training_run_id": _text(run_id),
            "seed": _text(seed),
            "participant_status": status,
            "attention_check": _text(check_id is not None),
            "test_response": _text(is_test),
            "rated_at": _text(rated_at),
        }


def decision_rows(*, study: Study, include_test_responses: bool = False) -> Iterator[dict[str, str]]:
    """One row per participant and decision item with at least a first answer, keyed by `DECISION_COLUMNS`.

    Like `rating_rows`, every participant status is kept (flagged), test responses only when asked for.
    """
    decisions = (
        Decision.objects.filter(assignment__participant__in=_participants(study, include_test_responses))
        .filter(Q(initial_at__isnull=False) | Q(final_at__isnull=False))
        .select_related(
            "assignment__participant",
            "assignment__explanation__question",
            "assignment__explanation__condition__inference_run__training_run",
        )
        .order_by("assignment__participant__entered_at", "assignment__participant_id", "assignment__position")
    )
    for d in decisions.iterator(chunk_size=2000):
        assignment, explanation = d.assignment, d.assignment.explanation
        question, condition = explanation.question, explanation.condition
        run = condition.inference_run.training_run if condition.inference_run_id else None
        final = d.final_answer if d.final_at else ""
        row = {
            "study_id": str(study.pk),
            "participant_id": assignment.participant.public_id,
            "condition": condition.name,
            "advice": condition.advice,
            "method": run.method if run else "",
            "data_variant": run.data_variant if run else "",
            "training_run_id": _text(run and run.pk),
            "seed": _text(run and run.seed),
            "question_id": question.external_id,
            "question": question.text,
            "gold_answer": question.answer_key,
            "advice_answer": explanation.answer_label,
            "advice_correct": _text(explanation.correct),
            "initial_answer": d.initial_answer,
            "initial_confidence": _text(d.initial_confidence),
            "initial_correct": _text(d.initial_answer == question.answer_key) if d.initial_answer else "",
            "final_answer": final,
            "final_confidence": _text(d.final_confidence if final else None),
            "final_correct": _text(final == question.answer_key) if final else "",
            "switched": _text(final != d.initial_answer) if final and d.initial_answer else "",
            "seconds_initial": "" if d.seconds_initial is None else f"{d.seconds_initial:.3f}",
            "seconds_final": "" if d.seconds_final is None or not final else f"{d.seconds_final:.3f}",
            "position": str(assignment.position),
            "participant_status": assignment.participant.status,
            "test_response": _text(assignment.participant.is_test),
            "clicks_initial": str(len(d.events.get("initial", []))),
            "clicks_final": str(len(d.events.get("final", []))),
            "answered_at": _text(d.final_at or d.initial_at),
        }
        yield {column: row[column] for column in DECISION_COLUMNS}


PARTICIPANT_COLUMNS = (
    "study_id",
    "participant_id",
    "participant_status",
    "screen_out_reason",
    "test_response",
    "prolific_pid",
    "prolific_study_id",
    "prolific_session_id",
    "latin_square_row",
    "items_rated",
    "sequence_length",
    "attention_failures",
    "entered_at",
    "consented_at",
    "instructions_read_at",
    "demographics_at",
    "items_started_at",
    "completed_at",
    "screened_out_at",
    "returned_at",
    "last_seen_at",
)


def participant_columns(study: Study) -> list[str]:
    """The participants CSV's columns: fixed ones, then one `demographic_<key>` per question."""
    keys = study.demographic_questions.values_list("key", flat=True)
    return [*PARTICIPANT_COLUMNS, *(f"demographic_{key}" for key in keys)]


def participant_rows(*, study: Study, include_test_responses: bool = False) -> Iterator[dict[str, str]]:
    """One row per participant: status, times, Prolific ids, demographics."""
    keys = list(study.demographic_questions.values_list("key", flat=True))
    rated = dict(
        Assignment.objects.filter(participant__study=study, submitted_at__isnull=False)
        .values_list("participant")
        .annotate(n=Count("id"))
        .values_list("participant", "n")
    )
    for p in _participants(study, include_test_responses).order_by("entered_at", "pk").iterator():
        row = {
            "study_id": str(study.pk),
            "participant_id": p.public_id,
            "participant_status": p.status,
            "screen_out_reason": p.screen_out_reason,
            "test_response": _text(p.is_test),
            "prolific_pid": p.prolific_pid,
            "prolific_study_id": p.prolific_study_id,
            "prolific_session_id": p.prolific_session_id,
            "latin_square_row": _text(p.latin_square_row),
            "items_rated": str(rated.get(p.pk, 0)),
            "sequence_length": str(p.sequence_length),
            "attention_failures": str(p.attention_failures),
        }
        for name in PARTICIPANT_COLUMNS[12:]:
            row[name] = _text(getattr(p, name))
        row.update({f"demographic_{key}": _text(p.demographics.get(key)) for key in keys})
        yield row


ITEM_COLUMNS = (
    "study_id",
    "question_id",
    "condition",
    "method",
    "data_variant",
    "training_run_id",
    "seed",
    "attention_check",
    "excluded",
    "exclusion_reason",
    "dataset",
    "sample_rank",
    "question",
    "choices",
    "gold_answer",
    "answer",
    "answer_text",
    "answer_correct",
    "explanation",
    "explanation_chars",
    "times_rated",
    "times_rated_completed",
)


def item_rows(*, study: Study, include_test_responses: bool = False) -> Iterator[dict[str, str]]:
    """One row per item and condition (what annotators saw), then one per attention check, with rating counts."""
    submitted = Assignment.objects.filter(
        participant__in=_participants(study, include_test_responses), submitted_at__isnull=False
    )
    completed = Participant.Status.COMPLETED
    counts = Counter(submitted.values_list("explanation_id", "attention_check_id"))
    counts_completed = Counter(
        submitted.filter(participant__status=completed).values_list("explanation_id", "attention_check_id")
    )
    items = {item.question_id: item for item in study.items.all()}
    explanations = (
        Explanation.objects.filter(condition__study=study, question_id__in=items)
        .select_related("question__dataset", "condition", "prediction__inference_run__training_run")
        .order_by("condition__position", "condition_id")
    )
    rows = []
    for e in sorted(explanations, key=lambda e: (items[e.question_id].sample_rank, e.condition.position)):
        item = items[e.question_id]
        run = e.prediction.inference_run.training_run if e.prediction_id else None
        rows.append(
            {
                **_question_fields(e.question),
                "condition": e.condition.name,
                "method": run.method if run else "",
                "data_variant": run.data_variant if run else "",
                "training_run_id": _text(run and run.pk),
                "seed": _text(run and run.seed),
                "attention_check": "false",
                "excluded": _text(item.excluded),
                "exclusion_reason": item.exclusion_reason,
                "sample_rank": str(item.sample_rank),
                "answer": e.answer_label,
                "answer_text": e.answer_text,
                "answer_correct": _text(e.correct),
                "explanation": e.text,
                "explanation_chars": str(len(e.text)),
                "times_rated": str(counts[(e.pk, None)]),
                "times_rated_completed": str(counts_completed[(e.pk, None)]),
            }
        )
    for check in study.attention_checks.select_related("question__dataset"):
        rows.append(
            {
                **_question_fields(check.question),
                "condition": ATTENTION_CHECK_CONDITION,
                **dict.fromkeys(("method", "data_variant", "training_run_id", "seed"), ""),
                "attention_check": "true",
                "excluded": "false",
                "exclusion_reason": "",
                "sample_rank": "",
                "answer": check.question.answer_key,
                "answer_text": check.question.answer_text,
                "answer_correct": "",
                "explanation": check.instruction,
                "explanation_chars": str(len(check.instruction)),
                "times_rated": str(counts[(None, check.pk)]),
                "times_rated_completed": str(counts_completed[(None, check.pk)]),
            }
        )
    for row in rows:
        row["study_id"] = str(study.pk)
        yield {column: row[column] for column in ITEM_COLUMNS}


def _question_fields(question) -> dict[str, str]:
    return {
        "question_id": question.external_id,
        "question": question.text,
        "choices": " | ".join(
            f"{label}: {text}"
            for label, text in zip(OPTION_LABELS[: len(question.choices)], question.choices, strict=True)
        ),
        "gold_answer": question.answer_key,
        "dataset": question.dataset.kind,
    }


COMMENT_COLUMNS = (
    "study_id",
    "participant_id",
    "condition",
    "question_id",
    "position",
    "comment",
    "test_response",
)


def comment_rows(*, study: Study, include_test_responses: bool = False) -> Iterator[dict[str, str]]:
    """The free-text comments participants left, one row per commented item."""
    commented = (
        Assignment.objects.filter(participant__in=_participants(study, include_test_responses))
        .exclude(comment="")
        .order_by("participant__entered_at", "participant_id", "position")
        .values_list(
            "participant__public_id",
            "explanation__condition__name",
            Coalesce("explanation__question__external_id", "attention_check__question__external_id"),
            "position",
            "comment",
            "participant__is_test",
            "attention_check_id",
        )
    )
    for pid, condition, qid, position, comment, is_test, check_id in commented.iterator():
        yield _item_columns(study, pid, condition, check_id, qid, position) | {
            "comment": comment,
            "test_response": _text(is_test),
        }


# --- the study dashboard ---


@dataclass
class ItemLine:
    question_id: str
    text: str
    excluded: bool
    counts: list[int]  # rated slots per condition (real participants, in progress or completed)


@dataclass
class ConditionLine:
    name: str
    rated: int
    rated_completed: int
    median_seconds: float | None
    fewest: int
    most: int


@dataclass
class StudyDashboard:
    status_counts: dict[str, int]
    started: int
    test_participants: int
    conditions: list[ConditionLine]
    items: list[ItemLine]
    median_seconds: float | None
    attention_checks_failed: int
    participants_failing_checks: int
    participants_needed: int

    @property
    def statuses(self) -> list[tuple[str, int]]:
        """(label, count) for every participant status."""
        return [(label, self.status_counts[value]) for value, label in Participant.Status.choices]


def study_dashboard(*, study: Study) -> StudyDashboard:
    """Counts for monitoring a running study; real participants only (test responses counted apart)."""
    real = Participant.objects.filter(study=study, is_test=False)
    status_counts = dict.fromkeys(Participant.Status.values, 0)
    status_counts.update(dict(real.values_list("status").annotate(n=Count("id")).values_list("status", "n")))
    rated = list(
        Assignment.objects.filter(participant__in=real, submitted_at__isnull=False).values_list(
            "explanation__condition_id",
            "explanation__question_id",
            "participant__status",
            "seconds_on_item",
            "attention_passed",
            "participant_id",
        )
    )
    counted = set(Participant.COUNTED_STATUSES)
    conditions = list(study.conditions.all())
    items = list(study.items.select_related("question"))
    per_cell = Counter((c, q) for c, q, status, *_ in rated if c is not None and status in counted)
    seconds_by_condition = defaultdict(list)
    for c, _q, _status, seconds, _passed, _pid in rated:
        if c is not None and seconds is not None:
            seconds_by_condition[c].append(seconds)
    condition_lines = []
    for condition in conditions:
        in_use = [per_cell[(condition.pk, item.question_id)] for item in items if not item.excluded]
        condition_lines.append(
            ConditionLine(
                name=condition.name,
                rated=sum(1 for c, *_ in rated if c == condition.pk),
                rated_completed=sum(
                    1
                    for c, _q, status, *_ in rated
                    if c == condition.pk and status == Participant.Status.COMPLETED
                ),
                median_seconds=_median(seconds_by_condition[condition.pk]),
                fewest=min(in_use, default=0),
                most=max(in_use, default=0),
            )
        )
    failures = [pid for *_, passed, pid in rated if passed is False]
    available = sum(1 for item in items if not item.excluded)
    per_participant = study.items_per_condition
    return StudyDashboard(
        status_counts=status_counts,
        started=sum(status_counts.values()),
        test_participants=Participant.objects.filter(study=study, is_test=True).count(),
        conditions=condition_lines,
        items=[
            ItemLine(
                question_id=item.question.external_id,
                text=item.question.text,
                excluded=item.excluded,
                counts=[per_cell[(c.pk, item.question_id)] for c in conditions],
            )
            for item in items
        ],
        median_seconds=_median([s for values in seconds_by_condition.values() for s in values]),
        attention_checks_failed=len(failures),
        participants_failing_checks=len(set(failures)),
        participants_needed=-(-available * study.target_ratings_per_item // per_participant),
    )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
