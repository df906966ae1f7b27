"""A participant's way through a study: entry, consent, instructions, demographics, items, completion.

The server decides what each participant sees (as in Appraise): the sequence is fixed when items start, the
next unrated slot is the only one served, and a rating is accepted only for a slot that was served to this
participant. A slot is rated once: a second submission is recognised and never overwrites the first.
Every function takes `now` so that simulated sessions (test responses) can carry their own clock.
"""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from .assignment import Candidate, balanced_latin_square, build_sequence, choose_explanations, least_used_row
from .models import Assignment, AttentionCheck, Explanation, Participant, Rating, Scale, Study

COMMENT_MAX_CHARS = 2000
# The participant fields that fixing a sequence and submitting a rating change.
SEQUENCE_FIELDS = ["latin_square_row", "sequence_length", "items_started_at", "last_seen_at"]
SUBMIT_UPDATES = [
    "status",
    "attention_failures",
    "screen_out_reason",
    "screened_out_at",
    "completed_at",
    "last_seen_at",
]


class Stage(StrEnum):
    CONSENT = "consent"
    INSTRUCTIONS = "instructions"
    DEMOGRAPHICS = "demographics"
    ITEMS = "item"
    COMPLETED = "done"
    SCREENED_OUT = "screened_out"


class StudyNotOpen(Exception):
    def __init__(self, study: Study):
        self.study = study
        super().__init__(f"study {study.pk} is {study.status}, not open")


class EntryRefused(Exception):
    """The entry link lacks what this study needs (a Prolific id)."""


class NotHandedOut(Exception):
    """A submission for a slot this participant was not given (yet)."""


class InvalidRatings(ValueError):
    pass


class SubmitOutcome(StrEnum):
    SAVED = "saved"
    DUPLICATE = "duplicate"  # the same answers again (double click, resent form): nothing to do
    KEPT_EARLIER = "kept_earlier"  # different answers for a slot already rated: the first ones stay


def stage(participant: Participant) -> Stage:
    """Where this participant is now."""
    if participant.status == Participant.Status.COMPLETED:
        return Stage.COMPLETED
    if participant.status == Participant.Status.SCREENED_OUT:
        return Stage.SCREENED_OUT
    if participant.consented_at is None:
        return Stage.CONSENT
    if participant.instructions_read_at is None:
        return Stage.INSTRUCTIONS
    if participant.items_started_at is not None:
        return Stage.ITEMS
    if participant.demographics_at is None and participant.study.demographic_questions.exists():
        return Stage.DEMOGRAPHICS
    return Stage.ITEMS


def enter_study(
    *,
    study: Study,
    prolific_pid: str = "",
    prolific_study_id: str = "",
    prolific_session_id: str = "",
    user_agent: str = "",
    is_test: bool = False,
    now: datetime | None = None,
) -> Participant:
    """The participant for this entry: the same Prolific id resumes its session; otherwise a new one.

    Raises `StudyNotOpen` for a new participant of a study that is not open (test responses may also
    fill a draft), and `EntryRefused` when a Prolific study is entered without a Prolific id.
    """
    now = now or timezone.now()
    existing = returning_participant(study=study, prolific_pid=prolific_pid, now=now)
    if existing:
        return existing
    check_entry(study=study, prolific_pid=prolific_pid, is_test=is_test)
    try:
        with transaction.atomic():
            return Participant.objects.create(
                study=study,
                is_test=is_test,
                prolific_pid=prolific_pid,
                prolific_study_id=prolific_study_id,
                prolific_session_id=prolific_session_id,
                user_agent=user_agent[:300],
                entered_at=now,
                last_seen_at=now,
            )
    except IntegrityError:
        if not prolific_pid:
            raise
        # The same link opened twice at once (a double click): both requests get the session that won.
        return Participant.objects.get(study=study, prolific_pid=prolific_pid)


def returning_participant(
    *, study: Study, prolific_pid: str, now: datetime | None = None
) -> Participant | None:
    """The session this Prolific id already has in the study (resumed), if any: on any device it continues."""
    if not prolific_pid:
        return None
    existing = Participant.objects.filter(study=study, prolific_pid=prolific_pid).first()
    return resume(participant=existing, now=now) if existing else None


def check_entry(*, study: Study, prolific_pid: str = "", is_test: bool = False) -> None:
    """Raise `StudyNotOpen` or `EntryRefused` when a new participant may not enter (see `enter_study`)."""
    if not (study.status == Study.Status.OPEN or (is_test and study.status == Study.Status.DRAFT)):
        raise StudyNotOpen(study)
    if not prolific_pid and not (study.allow_anonymous or is_test):
        raise EntryRefused("this study is entered from Prolific: the link must carry PROLIFIC_PID")


def resume(*, participant: Participant, now: datetime | None = None) -> Participant:
    """A returned (idle) participant who comes back continues where they stopped."""
    if participant.status == Participant.Status.RETURNED:
        now = now or timezone.now()
        Participant.objects.filter(pk=participant.pk, status=Participant.Status.RETURNED).update(
            status=Participant.Status.IN_PROGRESS, last_seen_at=now
        )
        participant.refresh_from_db()
    return participant


def _update_once(participant: Participant, unset_field: str, now: datetime, **fields) -> None:
    """Set `unset_field` (and `fields`) unless a previous request already did: reloads and double posts are harmless."""
    Participant.objects.filter(
        pk=participant.pk, status=Participant.Status.IN_PROGRESS, **{f"{unset_field}__isnull": True}
    ).update(**{unset_field: now, "last_seen_at": now}, **fields)
    participant.refresh_from_db()


def record_consent(*, participant: Participant, agreed: bool, now: datetime | None = None) -> None:
    """Consent given moves on; consent refused ends the session with the screen-out code."""
    now = now or timezone.now()
    if agreed:
        _update_once(participant, "consented_at", now)
    else:
        Participant.objects.filter(
            pk=participant.pk, consented_at__isnull=True, status=Participant.Status.IN_PROGRESS
        ).update(
            status=Participant.Status.SCREENED_OUT,
            screen_out_reason=Participant.ScreenOut.DECLINED_CONSENT,
            screened_out_at=now,
            last_seen_at=now,
        )
        participant.refresh_from_db()


def mark_instructions_read(*, participant: Participant, now: datetime | None = None) -> None:
    _update_once(participant, "instructions_read_at", now or timezone.now())


def save_demographics(*, participant: Participant, answers: dict, now: datetime | None = None) -> None:
    """Store the (already validated) answers, keyed by question key; the first answers stay."""
    _update_once(participant, "demographics_at", now or timezone.now(), demographics=answers)


def release_abandoned_participants(*, study: Study, now: datetime | None = None) -> int:
    """Mark sessions idle for longer than the study allows as returned: their items count no more."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=study.abandon_after_minutes)
    return Participant.objects.filter(
        study=study, status=Participant.Status.IN_PROGRESS, last_seen_at__lt=cutoff
    ).update(status=Participant.Status.RETURNED, returned_at=now)


def release_all_abandoned_participants(*, now: datetime | None = None) -> int:
    """`release_abandoned_participants` for every study with a session in progress (Celery beat, every minute)."""
    now = now or timezone.now()
    studies = Study.objects.filter(participants__status=Participant.Status.IN_PROGRESS).distinct()
    return sum(release_abandoned_participants(study=study, now=now) for study in studies)


def sequence_candidates(study: Study) -> tuple[list[Candidate], set[int]]:
    """The explanations a sequence may show (of items not excluded), and those whose answer is wrong."""
    candidates, wrong = [], set()
    for explanation_id, condition_id, question_id, correct in Explanation.objects.filter(
        condition__study=study, question__in=study.items.filter(excluded=False).values("question")
    ).values_list("id", "condition_id", "question_id", "correct"):
        candidates.append(Candidate(explanation_id, condition_id, question_id))
        if not correct:
            wrong.add(explanation_id)
    return candidates, wrong


def start_items(*, participant: Participant, now: datetime | None = None) -> None:
    """Fix this participant's sequence, once: k items per condition, all of different questions.

    Sequences are chosen one at a time under a lock on the study row, so that simultaneous participants see
    each other's assignments and the items spread evenly: each slot takes the least-assigned explanation,
    counting only sessions that are in progress or completed (of the same kind, real or test). The design
    itself cannot change while anyone takes part, so it is read before the lock is taken.
    """
    now = now or timezone.now()
    if participant.sequence_length:
        return
    study = participant.study
    condition_ids = list(study.conditions.values_list("id", flat=True))
    square = balanced_latin_square(len(condition_ids))
    candidates, wrong = sequence_candidates(study)
    # A decision study holds the share of wrong advice equal across conditions, for every participant.
    wrong_per_condition = study.wrong_advice_per_condition if study.is_decision else None
    checks = dict(study.attention_checks.values_list("position", "id"))
    release_abandoned_participants(study=study, now=now)
    with transaction.atomic():
        list(Study.objects.select_for_update().filter(pk=study.pk).values_list("pk"))
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.sequence_length:  # a simultaneous request of the same participant got here first
            participant.refresh_from_db()
            return
        counted = Participant.objects.filter(
            study=study, is_test=locked.is_test, status__in=Participant.COUNTED_STATUSES
        )
        row_counts = dict(
            counted.exclude(latin_square_row=None)
            .values_list("latin_square_row")
            .annotate(n=Count("id"))
            .values_list("latin_square_row", "n")
        )
        loads = dict(
            Assignment.objects.filter(participant__in=counted, explanation__isnull=False)
            .values_list("explanation")
            .annotate(n=Count("id"))
            .values_list("explanation", "n")
        )
        row = least_used_row(row_counts, len(square))
        rng = random.Random(locked.token)
        picks = choose_explanations(
            candidates,
            loads,
            study.items_per_condition,
            condition_ids,
            rng,
            wrong=wrong,
            wrong_per_condition=wrong_per_condition,
        )
        slots = build_sequence(picks, [condition_ids[i] for i in square[row]], checks, rng)
        Assignment.objects.bulk_create(
            Assignment(
                participant=locked,
                position=slot.position,
                explanation_id=slot.explanation_id,
                attention_check_id=slot.attention_check_id,
            )
            for slot in slots
        )
        locked.latin_square_row = row
        locked.sequence_length = len(slots)
        locked.items_started_at = locked.last_seen_at = now
        locked.save(update_fields=SEQUENCE_FIELDS)
    for name in SEQUENCE_FIELDS:
        setattr(participant, name, getattr(locked, name))


def serve_next_item(*, participant: Participant, now: datetime | None = None) -> Assignment | None:
    """The participant's next unrated slot (None when all are rated), marked as handed out the first time."""
    now = now or timezone.now()
    # Two small joins plan faster than one over every table a page might need (PostgreSQL planning
    # time dominates this query); attention checks are rare enough to be loaded on their own.
    assignment = (
        participant.assignments.filter(submitted_at__isnull=True)
        .select_related("explanation__question__dataset")
        .order_by("position")
        .first()
    )
    if assignment is not None and assignment.attention_check_id:
        assignment.attention_check = AttentionCheck.objects.select_related("question__dataset").get(
            pk=assignment.attention_check_id
        )
    if assignment is not None and assignment.served_at is None:
        if Assignment.objects.filter(pk=assignment.pk, served_at__isnull=True).update(served_at=now):
            assignment.served_at = now
            Participant.objects.filter(pk=participant.pk).update(last_seen_at=now)
        else:  # a simultaneous request served it first
            assignment.refresh_from_db(fields=["served_at"])
    return assignment


def rated_item(*, participant: Participant, position: int) -> Assignment | None:
    """The participant's slot at `position` if it has been rated, with what is needed to show it again."""
    assignment = (
        participant.assignments.filter(position=position, submitted_at__isnull=False)
        .select_related("explanation__question__dataset", "attention_check__question__dataset")
        .first()
    )
    if assignment is not None:
        assignment.stored_values = dict(assignment.ratings.values_list("scale__name", "value"))
    return assignment


def _check_values(scales: list[Scale], values: dict[str, int]) -> None:
    problems = []
    for scale in scales:
        value = values.get(scale.name)
        if value is None:
            problems.append(f"{scale.label}: no rating")
        elif not scale.min_value <= value <= scale.max_value:
            problems.append(f"{scale.label}: {value} is outside {scale.min_value}–{scale.max_value}")
    unknown = sorted(set(values) - {scale.name for scale in scales})
    if unknown:
        problems.append(f"unknown scale(s) {', '.join(unknown)}")
    if problems:
        raise InvalidRatings("; ".join(problems))


def submit_item(
    *,
    participant: Participant,
    position: int,
    values: dict[str, int],
    comment: str = "",
    scales: Sequence[Scale] | None = None,
    now: datetime | None = None,
) -> SubmitOutcome:
    """Store the ratings of the slot at `position`, exactly once.

    Raises `NotHandedOut` when that slot was never served to this participant, `InvalidRatings` when a
    scale is missing or out of range. A slot already rated is left as it is (DUPLICATE or KEPT_EARLIER).
    Failing more attention checks than the study allows screens the participant out; rating the last slot
    completes the session. `scales`: the study's scales, when the caller has them already.
    """
    now = now or timezone.now()
    with transaction.atomic():
        assignment = lock_slot(participant=participant, position=position)
        locked = assignment.participant
        if assignment.submitted_at is not None:
            stored = dict(assignment.ratings.values_list("scale__name", "value"))
            return SubmitOutcome.DUPLICATE if stored == values else SubmitOutcome.KEPT_EARLIER
        check_handed_out(assignment)
        scales = list(locked.study.scales.all()) if scales is None else scales
        _check_values(scales, values)
        Rating.objects.bulk_create(
            Rating(assignment=assignment, scale=scale, value=values[scale.name]) for scale in scales
        )
        assignment.submitted_at = now
        assignment.seconds_on_item = max((now - assignment.served_at).total_seconds(), 0.0)
        assignment.comment = comment.strip()[:COMMENT_MAX_CHARS]
        locked.status = Participant.Status.IN_PROGRESS
        if assignment.attention_check is not None:
            expected = assignment.attention_check.expected_value
            assignment.attention_passed = all(value == expected for value in values.values())
            if not assignment.attention_passed:
                locked.attention_failures += 1
                if locked.attention_failures > locked.study.attention_max_failures:
                    locked.status = Participant.Status.SCREENED_OUT
                    locked.screen_out_reason = Participant.ScreenOut.FAILED_ATTENTION
                    locked.screened_out_at = now
        assignment.save(update_fields=["submitted_at", "seconds_on_item", "comment", "attention_passed"])
        finish_slot(participant=participant, locked=locked, position=position, now=now)
    return SubmitOutcome.SAVED


def lock_slot(*, participant: Participant, position: int) -> Assignment:
    """The slot at `position`, locked with its participant (call inside a transaction); `NotHandedOut` if none.

    One query locks the slot and its participant: simultaneous submissions of one participant (a double click,
    two tabs) take turns, and the second one sees what the first stored.
    """
    assignment = (
        Assignment.objects.select_for_update(of=("self", "participant"))
        .select_related("participant__study", "attention_check")
        .filter(participant_id=participant.pk, position=position)
        .first()
    )
    if assignment is None:
        raise NotHandedOut(f"there is no item {position} in this participant's sequence")
    return assignment


def check_handed_out(assignment: Assignment) -> None:
    """`NotHandedOut` unless the slot was served and its participant may still answer."""
    if assignment.served_at is None or assignment.participant.status not in (
        Participant.Status.IN_PROGRESS,
        Participant.Status.RETURNED,
    ):
        raise NotHandedOut(f"item {assignment.position} has not been handed to this participant")


def finish_slot(*, participant: Participant, locked: Participant, position: int, now: datetime) -> None:
    """After a slot is submitted: the last one completes the session; `participant` takes the new state."""
    if locked.status == Participant.Status.IN_PROGRESS and position == locked.sequence_length:
        locked.status = Participant.Status.COMPLETED
        locked.completed_at = now
    locked.last_seen_at = now
    locked.save(update_fields=SUBMIT_UPDATES)
    for name in SUBMIT_UPDATES:
        setattr(participant, name, getattr(locked, name))
