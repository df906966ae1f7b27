"""Designing, launching and piloting a study: plain functions the admin, the API and the demo call.

Typical use (what `make demo` does):

    study = create_study(title="Explanations", inference_runs=[run_a, run_b, run_c, run_d])
    sample_items(study=study, seed=0)
    open_study(study=study)                      # annotators may now enter
    fill_with_test_responses(study=study, participants=8)   # optional pilot, marked as test data

A study is frozen once it has participants: the design functions raise `StudyFrozen` from then on.
"""

import random
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from models_app.models import Dataset, InferenceRun, Question

from . import deciding, participation
from .assignment import choose_explanations
from .defaults import (
    ATTENTION_CHECK_DEFAULT_VALUE,
    ATTENTION_CHECK_INSTRUCTION,
    DEFAULT_CONSENT_TEXT,
    DEFAULT_DECISION_INSTRUCTIONS,
    DEFAULT_DEMOGRAPHICS,
    DEFAULT_INSTRUCTIONS,
    DEFAULT_SCALES,
    ScaleSpec,
)
from .importing import ParsedExplanations, parse_explanations
from .models import (
    AttentionCheck,
    Condition,
    DemographicQuestion,
    Explanation,
    Item,
    Participant,
    Scale,
    Study,
)


class StudyFrozen(Exception):
    def __init__(self, study: Study):
        super().__init__(
            f"study {study.pk} ({study.title}) already has participants, so its design can no longer change; "
            "delete its test responses first if only simulated participants took part"
        )


class StudyDesignError(ValueError):
    """The design is not complete or not consistent; `problems` lists what to fix."""

    def __init__(self, study: Study, problems: list[str]):
        self.problems = problems
        super().__init__(f"study {study.pk} cannot be opened: " + "; ".join(problems))


def ensure_editable(study: Study) -> None:
    if study.is_frozen:
        raise StudyFrozen(study)


@transaction.atomic
def create_study(
    *,
    title: str,
    inference_runs: Sequence[InferenceRun] = (),
    items_per_condition: int = 3,
    item_count: int = 40,
    target_ratings_per_item: int = 5,
    scales: Sequence[ScaleSpec] = DEFAULT_SCALES,
    demographics: Sequence[dict] = DEFAULT_DEMOGRAPHICS,
    attention_checks: int = 1,
    consent_text: str = DEFAULT_CONSENT_TEXT,
    instructions: str = DEFAULT_INSTRUCTIONS,
    advice: Sequence[str] = (),
    created_by=None,
    **options,
) -> Study:
    """Create a draft study with one condition per inference run, named `method/data_variant`.

    `scales` defaults to the paper's five 1–5 Likert items, `demographics` to a few background questions
    (dicts with the fields of `DemographicQuestion`). `attention_checks` instructed-response pages are
    spread evenly through each sequence. `options` sets any other `Study` field (e.g. `completion_code`,
    `completion_url`, `reveal_correctness`, `allow_anonymous`). Items are sampled separately:
    `sample_items(study=...)`.

    A decision study (`kind=Study.Kind.DECISION`, with `protocol`, `ask_confidence`, `reveal_answer` and
    `wrong_advice_share` among the options) has no scales and no attention checks; its conditions' advice is
    set with `advice` (one per inference run, default: answer and explanation).
    """
    if options.get("kind") == Study.Kind.DECISION:
        scales, attention_checks = (), 0
        if instructions == DEFAULT_INSTRUCTIONS:
            instructions = DEFAULT_DECISION_INSTRUCTIONS
    study = Study.objects.create(
        title=title,
        items_per_condition=items_per_condition,
        item_count=item_count,
        target_ratings_per_item=target_ratings_per_item,
        consent_text=consent_text,
        instructions=instructions,
        created_by=created_by,
        **options,
    )
    shown = advice or [Condition.Advice.ANSWER_EXPLANATION] * len(inference_runs)
    for run, what in zip(inference_runs, shown, strict=True):
        add_inference_run_condition(study=study, inference_run=run, advice=what)
    add_scales(study=study, scales=scales)
    for position, spec in enumerate(demographics):
        DemographicQuestion.objects.create(study=study, position=position, **spec)
    if attention_checks:
        if not inference_runs:
            raise ValueError(
                "attention checks need a condition to draw their question from; pass inference_runs"
            )
        total = items_per_condition * len(inference_runs) + attention_checks
        for i in range(attention_checks):
            add_attention_check(study=study, position=(i + 1) * total // (attention_checks + 1) + 1)
    return study


def add_scales(*, study: Study, scales: Iterable[ScaleSpec]) -> list[Scale]:
    """Append Likert scales to a study, in order."""
    ensure_editable(study)
    start = study.scales.count()
    created = []
    for offset, spec in enumerate(scales):
        points = spec.max_value - spec.min_value + 1
        if len(spec.anchors) != points:
            raise ValueError(
                f"scale {spec.name!r}: {len(spec.anchors)} anchors for {points} points "
                f"({spec.min_value}–{spec.max_value}); give one label per point"
            )
        created.append(
            Scale.objects.create(
                study=study,
                name=spec.name,
                label=spec.label,
                statement=spec.statement,
                anchors=list(spec.anchors),
                min_value=spec.min_value,
                max_value=spec.max_value,
                position=start + offset,
            )
        )
    return created


def _next_condition_position(study: Study) -> int:
    last = study.conditions.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def default_condition_name(inference_run: InferenceRun, advice: str) -> str:
    """The training run's method/data_variant; in a decision study, with what of it the participants see."""
    name = inference_run.training_run.condition_name
    return {
        Condition.Advice.NONE: f"control ({name})",
        Condition.Advice.ANSWER: f"{name} (answer only)",
    }.get(advice, name)


@transaction.atomic
def add_inference_run_condition(
    *,
    study: Study,
    inference_run: InferenceRun,
    name: str = "",
    advice: str = Condition.Advice.ANSWER_EXPLANATION,
) -> Condition:
    """A condition showing an inference run's predictions; named after its training run unless `name` is given.

    A study may mix datasets: a run of another dataset than the condition of that name already shows (e.g.
    multitask/unrevised on StrategyQA beside the same on e-SNLI) adds its explanations to that condition, so that
    the condition explains the questions of both. Predictions without an answer option or without an explanation
    cannot be rated and are left out. `advice` (decision studies): what participants see of it; a control
    condition (no advice) still needs a run, whose answers decide which items count as wrong advice, so conditions
    can be balanced alike.
    """
    ensure_editable(study)
    if advice != Condition.Advice.ANSWER_EXPLANATION and not study.is_decision:
        raise ValueError("only a decision study shows advice without explanations; a rating study shows both")
    name = name or default_condition_name(inference_run, advice)
    condition = study.conditions.filter(name=name, inference_run__isnull=False).first()
    shown = set(condition.explanations.values_list("question__dataset_id", flat=True)) if condition else set()
    if condition is None or inference_run.dataset_id in shown:  # a same-named new condition is refused
        condition = Condition.objects.create(
            study=study,
            name=name,
            position=_next_condition_position(study),
            inference_run=inference_run,
            advice=advice,
        )
    predictions = inference_run.predictions.exclude(predicted_label="").exclude(explanation="")
    created = Explanation.objects.bulk_create(
        Explanation(
            condition=condition,
            question_id=prediction.question_id,
            prediction=prediction,
            answer_label=prediction.predicted_label,
            correct=prediction.correct,
            text=prediction.explanation.strip(),
        )
        for prediction in predictions.iterator(chunk_size=2000)
        if prediction.explanation.strip()
    )
    if not created:
        raise ValueError(
            f"inference run {inference_run.pk} has no prediction with both an answer and an explanation; "
            "a study needs explanations to rate (was it a standard, answer-only student?)"
        )
    return condition


def parse_condition_file(
    *, lines: Iterable[str | bytes], dataset: Dataset, source: str
) -> ParsedExplanations:
    """Check a JSONL file of explanations against a dataset's questions (raises `ExplanationFileError`)."""
    questions = {q.external_id: q for q in Question.objects.filter(dataset=dataset)}
    return parse_explanations(lines, questions, source=source)


@transaction.atomic
def add_jsonl_condition(
    *,
    study: Study,
    name: str,
    parsed: ParsedExplanations,
    source: str,
    advice: str = Condition.Advice.ANSWER_EXPLANATION,
) -> Condition:
    """A condition from imported explanations (see `parse_condition_file`); `advice` as for inference runs."""
    ensure_editable(study)
    if advice != Condition.Advice.ANSWER_EXPLANATION and not study.is_decision:
        raise ValueError("only a decision study shows advice without explanations; a rating study shows both")
    condition = Condition.objects.create(
        study=study,
        name=name,
        position=_next_condition_position(study),
        source_file=source,
        advice=advice,
    )
    Explanation.objects.bulk_create(
        Explanation(
            condition=condition,
            question=record.question,
            answer_label=record.answer_label,
            correct=record.correct,
            text=record.text,
        )
        for record in parsed.records
    )
    return condition


def add_attention_check(
    *,
    study: Study,
    position: int,
    question: Question | None = None,
    expected_value: int = ATTENTION_CHECK_DEFAULT_VALUE,
) -> AttentionCheck:
    """An instructed-response page at `position` of every sequence, asking for `expected_value` on every scale.

    Without a `question`, one the conditions explained is drawn (seeded by the study and position) and
    kept out of the item sample.
    """
    ensure_editable(study)
    first_scale = study.scales.first()
    if first_scale is None:
        raise ValueError("add the rating scales before the attention checks: their text names a scale point")
    if question is None:
        pool = sorted(
            Explanation.objects.filter(condition__study=study)
            .exclude(question__in=study.items.values("question"))
            .values_list("question__external_id", "question_id")
            .distinct()
        )
        if not pool:
            raise ValueError("no question to show on the attention check: add a condition first")
        question = Question.objects.get(pk=random.Random(f"{study.pk}:{position}").choice(pool)[1])
    anchor = dict(first_scale.points).get(expected_value)
    if anchor is None:
        raise ValueError(f"expected value {expected_value} is not a point of scale {first_scale.name!r}")
    return AttentionCheck.objects.create(
        study=study,
        position=position,
        question=question,
        instruction=ATTENTION_CHECK_INSTRUCTION.format(anchor=anchor, value=expected_value),
        expected_value=expected_value,
    )


def common_questions(study: Study) -> list[tuple[str, int]]:
    """(CQA id, question pk) of questions every condition explains, minus attention-check questions."""
    question_sets = [
        set(condition.explanations.values_list("question__external_id", "question_id"))
        for condition in study.conditions.all()
    ]
    if not question_sets:
        return []
    checks = set(study.attention_checks.values_list("question_id", flat=True))
    return sorted(pair for pair in set.intersection(*question_sets) if pair[1] not in checks)


@transaction.atomic
def sample_items(*, study: Study, count: int | None = None, seed: int | None = None) -> list[Item]:
    """Sample `count` (default: the study's item_count) questions that every condition explains.

    The seed (random when not given) is recorded on the study; the same seed over the same conditions
    gives the same items. Sampling again replaces the items and their exclusions. When fewer questions
    are available than wanted, all of them are taken: compare len(result) with the count.
    """
    ensure_editable(study)
    count = study.item_count if count is None else count
    seed = secrets.randbelow(2**31) if seed is None else seed
    pool = common_questions(study)
    needed = study.items_per_condition * study.conditions.count()
    if len(pool) < needed:
        raise ValueError(
            f"only {len(pool)} questions are explained by every condition, but each participant needs "
            f"{needed} different ones ({study.items_per_condition} per condition)"
        )
    chosen = random.Random(seed).sample(pool, min(count, len(pool)))
    study.items.all().delete()
    items = Item.objects.bulk_create(
        Item(study=study, question_id=question_id, sample_rank=rank)
        for rank, (_external_id, question_id) in enumerate(chosen)
    )
    study.item_seed = seed
    study.items_sampled_at = timezone.now()
    study.save(update_fields=["item_seed", "items_sampled_at"])
    return items


def set_items_excluded(
    *, study: Study, question_ids: Iterable[str], excluded: bool = True, reason: str = ""
) -> int:
    """Exclude (or include again) items by CQA id before launch; returns how many changed."""
    ensure_editable(study)
    wanted = set(question_ids)
    found = set(
        study.items.filter(question__external_id__in=wanted).values_list("question__external_id", flat=True)
    )
    if wanted - found:
        raise ValueError(f"not items of study {study.pk}: {', '.join(sorted(wanted - found))}")
    return study.items.filter(question__external_id__in=wanted).update(
        excluded=excluded, exclusion_reason=reason if excluded else ""
    )


def design_problems(study: Study) -> list[str]:
    """Everything that keeps the study from running as designed (empty when it can open)."""
    if study.is_decision:
        return decision_design_problems(study)
    problems = []
    conditions = study.conditions.count()
    scales = list(study.scales.all())
    if not conditions:
        problems.append("it has no condition")
    if not scales:
        problems.append("it has no rating scale")
    for name, advice in study.conditions.exclude(advice=Condition.Advice.ANSWER_EXPLANATION).values_list(
        "name", "advice"
    ):
        problems.append(f"condition {name} shows {advice!r} advice, which only a decision study can show")
    for scale in scales:
        if len(scale.anchors) != scale.max_value - scale.min_value + 1:
            problems.append(f"scale {scale.name} needs one anchor per point")
    if study.items_sampled_at is None:
        problems.append("its items have not been sampled")
    available = study.items.filter(excluded=False).count()
    needed = study.items_per_condition * conditions
    if study.items_sampled_at and available < needed:
        problems.append(f"{available} items are left after exclusions but each participant needs {needed}")
    total = needed + study.attention_checks.count()
    for check in study.attention_checks.all():
        if check.position > total:
            problems.append(f"attention check at position {check.position} lies beyond the {total} pages")
        if any(not s.min_value <= check.expected_value <= s.max_value for s in scales):
            problems.append(f"attention check at position {check.position} asks for a value off some scale")
        if study.items.filter(question_id=check.question_id, excluded=False).exists():
            problems.append(f"attention check at position {check.position} reuses an item's question")
    return problems


def decision_design_problems(study: Study) -> list[str]:
    """What keeps a decision study from running: its conditions, the share of wrong advice, its items."""
    problems = []
    conditions = list(study.conditions.all())
    k = study.items_per_condition
    if not conditions:
        problems.append("it has no condition")
    exact = study.wrong_advice_share * k
    if abs(exact - round(exact)) > 1e-6:
        problems.append(
            f"a wrong-advice share of {study.wrong_advice_share:g} of {k} items per condition is {exact:g} items; "
            "choose a share and a number of items per condition whose product is a whole number"
        )
    if study.attention_checks.exists():
        problems.append("decision studies have no attention-check pages; delete them")
    if study.items_sampled_at is None:
        problems.append("its items have not been sampled")
        return problems
    wrong_needed = study.wrong_advice_per_condition
    in_use = study.items.filter(excluded=False).values("question")
    for condition in conditions:
        counts = dict(
            condition.explanations.filter(question__in=in_use)
            .values_list("correct")
            .annotate(n=Count("id"))
            .values_list("correct", "n")
        )
        for correct, needed, what in ((False, wrong_needed, "wrong"), (True, k - wrong_needed, "right")):
            if counts.get(correct, 0) < needed:
                problems.append(
                    f"condition {condition.name}: {counts.get(correct, 0)} items where the model is {what} "
                    f"but each participant needs {needed}"
                )
    if conditions and not problems:
        candidates, wrong = participation.sequence_candidates(study)
        try:
            choose_explanations(
                candidates,
                {},
                k,
                [c.pk for c in conditions],
                random.Random(0),
                wrong=wrong,
                wrong_per_condition=wrong_needed,
            )
        except ValueError as exc:
            problems.append(f"no participant's sequence can be built: {exc}")
    return problems


def open_study(*, study: Study) -> Study:
    """Launch: annotators may enter from now on. Raises `StudyDesignError` listing what is missing."""
    problems = design_problems(study)
    if problems:
        raise StudyDesignError(study, problems)
    study.status = Study.Status.OPEN
    study.opened_at = study.opened_at or timezone.now()
    study.closed_at = None
    study.save(update_fields=["status", "opened_at", "closed_at"])
    return study


def close_study(*, study: Study) -> Study:
    """No new participants; those already inside may finish."""
    study.status = Study.Status.CLOSED
    study.closed_at = timezone.now()
    study.save(update_fields=["status", "closed_at"])
    return study


@transaction.atomic
def delete_test_responses(*, study: Study) -> int:
    """Remove the simulated participants and their ratings; returns how many participants went."""
    test_participants = study.participants.filter(is_test=True)
    count = test_participants.count()
    test_participants.delete()
    return count


@transaction.atomic
def fill_with_test_responses(
    *,
    study: Study,
    participants: int = 10,
    seed: int = 0,
    condition_means: dict[str, float] | None = None,
) -> list[Participant]:
    """Run `participants` simulated annotators through the study, as real ones go, marked `is_test`.

    Each answers the demographics at random, passes the attention checks and rates every item with
    round(mean + participant offset + noise) clipped to the scale, where the mean is
    `condition_means[condition name]` (default: the scale's midpoint). Each spends 15–60 simulated seconds
    per item. Test responses are left out of exports and analysis unless asked for, and the study
    (open or draft, items sampled) counts them apart from real participants when it balances items.
    """
    if study.items_sampled_at is None:
        raise ValueError(
            f"study {study.pk} has no items yet: sample them before filling it with test responses"
        )
    rng = random.Random(seed)
    if study.is_decision:
        return [_simulated_decider(study=study, rng=rng) for _ in range(participants)]
    condition_means = condition_means or {}
    scales = list(study.scales.all())
    questions = list(study.demographic_questions.all())
    created = []
    for _ in range(participants):
        clock = timezone.now() - timedelta(minutes=45)  # a session that ended before now
        participant = participation.enter_study(study=study, is_test=True, user_agent="simulated", now=clock)
        participation.record_consent(participant=participant, agreed=True, now=clock)
        participation.mark_instructions_read(participant=participant, now=clock)
        if questions:
            answers = {q.key: _simulated_answer(q, rng) for q in questions}
            participation.save_demographics(participant=participant, answers=answers, now=clock)
        participation.start_items(participant=participant, now=clock)
        offset = rng.gauss(0, 0.5)
        while (assignment := participation.serve_next_item(participant=participant, now=clock)) is not None:
            clock += timedelta(seconds=rng.uniform(15, 60))
            if assignment.attention_check_id:
                values = {s.name: assignment.attention_check.expected_value for s in scales}
            else:
                values = {}
                for s in scales:
                    mean = condition_means.get(
                        assignment.explanation.condition.name, (s.min_value + s.max_value) / 2
                    )
                    values[s.name] = min(
                        s.max_value, max(s.min_value, round(mean + offset + rng.gauss(0, 0.8)))
                    )
            participation.submit_item(
                participant=participant, position=assignment.position, values=values, now=clock
            )
        participant.refresh_from_db()
        created.append(participant)
    return created


# How simulated participants of a decision study answer: right at first with this probability; after advice that
# differs from their answer they take it with the first probability when it is right, the second when it is wrong.
SIMULATED_FIRST_RIGHT = 0.6
SIMULATED_TAKES_ADVICE = {True: 0.6, False: 0.3}


def _simulated_decider(*, study: Study, rng: random.Random) -> Participant:
    """One simulated participant through a decision study, as `fill_with_test_responses` runs them."""
    clock = timezone.now() - timedelta(minutes=45)
    participant = participation.enter_study(study=study, is_test=True, user_agent="simulated", now=clock)
    participation.record_consent(participant=participant, agreed=True, now=clock)
    participation.mark_instructions_read(participant=participant, now=clock)
    questions = list(study.demographic_questions.all())
    if questions:
        answers = {q.key: _simulated_answer(q, rng) for q in questions}
        participation.save_demographics(participant=participant, answers=answers, now=clock)
    participation.start_items(participant=participant, now=clock)
    while (assignment := participation.serve_next_item(participant=participant, now=clock)) is not None:
        explanation = assignment.explanation
        labels = deciding.answer_labels(assignment)
        gold = explanation.question.answer_key
        first = gold if rng.random() < SIMULATED_FIRST_RIGHT else rng.choice([x for x in labels if x != gold])
        confidence = rng.randint(1, 5) if study.ask_confidence else None
        if study.two_step:
            clock += timedelta(seconds=rng.uniform(10, 40))
            deciding.submit_initial(
                participant=participant,
                position=assignment.position,
                answer=first,
                confidence=confidence,
                now=clock,
            )
        deciding.serve_advice(participant=participant, assignment=assignment, now=clock)
        final = first
        shown = explanation.condition.advice != Condition.Advice.NONE
        if (
            shown
            and explanation.answer_label != first
            and rng.random() < SIMULATED_TAKES_ADVICE[explanation.correct]
        ):
            final = explanation.answer_label
        clock += timedelta(seconds=rng.uniform(5, 30))
        deciding.submit_final(
            participant=participant,
            position=assignment.position,
            answer=final,
            confidence=confidence,
            now=clock,
        )
    participant.refresh_from_db()
    return participant


def _simulated_answer(question: DemographicQuestion, rng: random.Random) -> str | int:
    if question.kind == DemographicQuestion.Kind.CHOICE:
        return rng.choice(question.choices)
    if question.kind == DemographicQuestion.Kind.NUMBER:
        return rng.randint(18, 80)
    return "simulated"
