"""A decision study's items: the participant answers, sees the condition's advice, answers again.

The sequence, serving and locking are the rating study's (`participation`): the server hands out one slot at a
time, and a submission is accepted only for the slot served to this participant. A slot has two steps in the
two-step protocol, each accepted once and in order: the first answer cannot be changed after the advice was
shown, because the advice is served only once the first answer is stored, and a stored answer is never
overwritten (a second submission is recognised as a duplicate or kept out). In the one-step protocol the
advice is served with the question and only the final answer is asked.

Times are the server's: the first step runs from the slot's `served_at` to the first answer, the second from
`advice_served_at` to the final answer. The pages also report every click (`events`), kept per step.
"""

from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from models_app.models import OPTION_LABELS

from .models import Assignment, Decision, Participant
from .participation import (
    NotHandedOut,
    SubmitOutcome,
    check_handed_out,
    finish_slot,
    lock_slot,
)

CONFIDENCE_RANGE = (1, 5)
MAX_EVENTS = 300  # clicks kept per step; a page reporting more is cut to its first ones
EVENT_KINDS = ("answer", "confidence", "submit", "shown", "hidden")


class Step(StrEnum):
    INITIAL = "initial"  # the question alone (two-step protocol)
    FINAL = "final"  # the advice and the final answer


class InvalidDecision(ValueError):
    pass


def answer_labels(assignment: Assignment) -> tuple[str, ...]:
    """The option labels of the slot's question."""
    return OPTION_LABELS[: len(assignment.explanation.question.choices)]


def next_step(assignment: Assignment, decision: Decision | None) -> Step | None:
    """The step this slot waits for (None once it is submitted)."""
    if assignment.submitted_at is not None:
        return None
    study = assignment.participant.study
    if study.two_step and (decision is None or decision.initial_at is None):
        return Step.INITIAL
    return Step.FINAL


def decision_of(assignment: Assignment) -> Decision | None:
    return Decision.objects.filter(assignment=assignment).first()


def clean_events(events: object) -> list[dict]:
    """The clicks a page reported, each {"t": milliseconds since the page was shown, "kind", "value"}.

    The pages send them; anything else is dropped, so a broken script never costs the participant an answer.
    """
    if not isinstance(events, list):
        return []
    cleaned = []
    for event in events[:MAX_EVENTS]:
        if not isinstance(event, dict) or event.get("kind") not in EVENT_KINDS:
            continue
        t = event.get("t")
        if not isinstance(t, int | float) or isinstance(t, bool) or not 0 <= t < 864e5:
            continue
        cleaned.append(
            {"t": round(float(t)), "kind": event["kind"], "value": str(event.get("value", ""))[:20]}
        )
    return cleaned


def _check(assignment: Assignment, answer: str, confidence: int | None) -> None:
    labels = answer_labels(assignment)
    if answer not in labels:
        raise InvalidDecision(f"answer {answer!r} is not one of {', '.join(labels)}")
    low, high = CONFIDENCE_RANGE
    if confidence is not None and not low <= confidence <= high:
        raise InvalidDecision(f"confidence {confidence} is outside {low}–{high}")


def serve_advice(
    *, participant: Participant, assignment: Assignment, now: datetime | None = None
) -> Decision:
    """Record when the advice of the served slot was first shown (once); the first answer must be stored."""
    now = now or timezone.now()
    decision, _ = Decision.objects.get_or_create(assignment=assignment)
    if next_step(assignment, decision) != Step.FINAL:
        raise NotHandedOut(f"item {assignment.position}: the advice comes after the first answer")
    if decision.advice_served_at is None:
        # In the one-step protocol the advice is on the page that served the slot.
        shown = now if participant.study.two_step else assignment.served_at
        if Decision.objects.filter(pk=decision.pk, advice_served_at__isnull=True).update(
            advice_served_at=shown
        ):
            decision.advice_served_at = shown
        else:  # a simultaneous request served it first
            decision.refresh_from_db()
    return decision


def submit_initial(
    *,
    participant: Participant,
    position: int,
    answer: str,
    confidence: int | None = None,
    events: list | None = None,
    now: datetime | None = None,
) -> SubmitOutcome:
    """Store the first answer of the slot at `position` (two-step protocol), exactly once.

    Raises `NotHandedOut` for a slot not served, `InvalidDecision` for an answer that is not an option or a
    confidence off the scale. A first answer already stored stays (DUPLICATE or KEPT_EARLIER).
    """
    now = now or timezone.now()
    with transaction.atomic():
        assignment = lock_slot(participant=participant, position=position)
        locked = assignment.participant
        if not locked.study.two_step:
            raise NotHandedOut(f"item {position}: this study asks for one answer, with the advice")
        decision, _ = Decision.objects.get_or_create(assignment=assignment)
        if decision.initial_at is not None:
            same = (decision.initial_answer, decision.initial_confidence) == (answer, confidence)
            return SubmitOutcome.DUPLICATE if same else SubmitOutcome.KEPT_EARLIER
        check_handed_out(assignment)
        _check(assignment, answer, confidence)
        decision.initial_answer = answer
        decision.initial_confidence = confidence
        decision.initial_at = now
        decision.seconds_initial = max((now - assignment.served_at).total_seconds(), 0.0)
        decision.events = {**decision.events, Step.INITIAL: clean_events(events)}
        decision.save()
        # As a rating does, an answer brings a participant marked returned (idle) back in.
        Participant.objects.filter(pk=locked.pk).update(
            status=Participant.Status.IN_PROGRESS, last_seen_at=now
        )
    return SubmitOutcome.SAVED


def submit_final(
    *,
    participant: Participant,
    position: int,
    answer: str,
    confidence: int | None = None,
    events: list | None = None,
    now: datetime | None = None,
) -> SubmitOutcome:
    """Store the final answer of the slot at `position`, exactly once, after its advice was shown.

    The last slot completes the session. Raises as `submit_initial`; a slot already submitted stays as it is.
    """
    now = now or timezone.now()
    with transaction.atomic():
        assignment = lock_slot(participant=participant, position=position)
        locked = assignment.participant
        decision, _ = Decision.objects.get_or_create(assignment=assignment)
        if assignment.submitted_at is not None:
            same = (decision.final_answer, decision.final_confidence) == (answer, confidence)
            return SubmitOutcome.DUPLICATE if same else SubmitOutcome.KEPT_EARLIER
        check_handed_out(assignment)
        if decision.advice_served_at is None:
            raise NotHandedOut(f"item {position}: its advice has not been shown")
        _check(assignment, answer, confidence)
        decision.final_answer = answer
        decision.final_confidence = confidence
        decision.final_at = now
        decision.seconds_final = max((now - decision.advice_served_at).total_seconds(), 0.0)
        decision.events = {**decision.events, Step.FINAL: clean_events(events)}
        decision.save()
        assignment.submitted_at = now
        assignment.seconds_on_item = max((now - assignment.served_at).total_seconds(), 0.0)
        assignment.save(update_fields=["submitted_at", "seconds_on_item"])
        locked.status = Participant.Status.IN_PROGRESS
        finish_slot(participant=participant, locked=locked, position=position, now=now)
    return SubmitOutcome.SAVED


def answered_slot(*, participant: Participant, position: int) -> tuple[Assignment, Decision] | None:
    """The slot at `position` with its decision, if at least its first answer is stored (to show it again)."""
    assignment = (
        participant.assignments.filter(position=position)
        .select_related("explanation__question", "explanation__condition", "participant__study")
        .first()
    )
    decision = decision_of(assignment) if assignment is not None else None
    if decision is None or (decision.initial_at is None and assignment.submitted_at is None):
        return None
    return assignment, decision
