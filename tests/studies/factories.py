"""Small studies built from rows the tests write themselves: questions, training runs, predictions."""

import itertools

from models_app.models import OPTION_LABELS, Dataset, InferenceRun, Prediction, Question, Run, TrainingRun
from studies import services
from studies.defaults import DEFAULT_SCALES
from studies.models import Study

PAPER_CONDITIONS = (
    ("counterfactual", "unrevised"),
    ("multitask", "unrevised"),
    ("multitask_counterfactual", "unrevised"),
    ("multitask_counterfactual", "revised"),
)
THINGS = ["kettle", "umbrella", "violin", "ladder", "lantern", "compass", "bucket", "blanket"]
PLACES = ["kitchen", "hallway", "garage", "attic", "garden", "office", "library", "station"]


_dataset_numbers = itertools.count()


def make_questions(n: int = 24) -> list[Question]:
    dataset = Dataset.objects.create(name=f"tiny-cqa-{next(_dataset_numbers)}", source="tests")
    return Question.objects.bulk_create(
        Question(
            dataset=dataset,
            external_id=f"cqa-{i:03d}",
            split=Question.Split.VALIDATION,
            text=f"Where would you most likely keep a {THINGS[i % len(THINGS)]} number {i}?",
            choices=[PLACES[(i + k) % len(PLACES)] for k in range(5)],
            answer_key=OPTION_LABELS[i % 5],
        )
        for i in range(n)
    )


def make_inference_run(
    questions: list[Question], method: str, data_variant: str, seed: int = 0
) -> InferenceRun:
    dataset = questions[0].dataset
    training = TrainingRun.objects.create(
        name=f"{method}/{data_variant}",
        status=Run.Status.SUCCEEDED,
        student="t5-tiny",
        method=method,
        data_variant=data_variant,
        seed=seed,
        dataset=dataset,
    )
    inference = InferenceRun.objects.create(
        name=f"inference {method}/{data_variant}",
        status=Run.Status.SUCCEEDED,
        training_run=training,
        dataset=dataset,
    )
    predictions = []
    for i, question in enumerate(questions):
        label = OPTION_LABELS[(i + len(method)) % len(question.choices)]
        place = question.choices[OPTION_LABELS.index(label)]
        predictions.append(
            Prediction(
                inference_run=inference,
                question=question,
                predicted_label=label,
                correct=label == question.answer_key,
                explanation=f"A {THINGS[i % len(THINGS)]} is usually kept in the {place}, so {method} picks it.",
                raw_output=f"The answer is {label}.",
                parse_rule="label",
            )
        )
    Prediction.objects.bulk_create(predictions)
    return inference


def make_inference_runs(n_questions: int = 24) -> list[InferenceRun]:
    questions = make_questions(n_questions)
    return [make_inference_run(questions, method, variant) for method, variant in PAPER_CONDITIONS]


def make_open_study(n_questions: int = 24, item_count: int = 16, **options) -> Study:
    """Four paper conditions × 3 items per participant, one attention check (13 pages), open."""
    study = services.create_study(
        title="Rating explanations",
        inference_runs=make_inference_runs(n_questions),
        item_count=item_count,
        completion_code="DONE1234",
        screen_out_code="STOP5678",
        **options,
    )
    services.sample_items(study=study, seed=7)
    return services.open_study(study=study)


BETTER = "multitask_counterfactual/revised"  # rated 1.5 points higher by the simulated participants of make_rated_study


def make_rated_study(participants: int = 6, **options) -> Study:
    """An open study with two scales (quick to analyse), filled with simulated participants (test responses).

    BETTER is rated 1.5 points above the others: with 6 participants every test finds it, whichever items the
    participants' own random draws give them (1 point was missed in about 1 run of 6)."""
    study = make_open_study(scales=DEFAULT_SCALES[:2], **options)
    services.fill_with_test_responses(
        study=study, participants=participants, seed=3, condition_means={BETTER: 4.5}
    )
    return study


def make_seed_run(
    questions: list[Question], method: str, variant: str, seed: int, correct: int, **fields
) -> TrainingRun:
    """A training run with a succeeded test-set inference run that gets `correct` of the questions right."""
    inference = make_inference_run(questions, method, variant, seed=seed)
    if fields:
        TrainingRun.objects.filter(pk=inference.training_run_id).update(**fields)
    set_correct(inference, correct)
    return inference.training_run


def set_correct(inference: InferenceRun, correct: int) -> None:
    """Make the inference run's first `correct` predictions (by question id) right and the rest wrong."""
    predictions = Prediction.objects.filter(inference_run=inference)
    right = list(predictions.order_by("question__external_id").values_list("pk", flat=True)[:correct])
    predictions.exclude(pk__in=right).update(correct=False)
    predictions.filter(pk__in=right).update(correct=True)


DECISION_RUN = ("multitask_counterfactual", "revised")


def make_decision_study(
    n_questions: int = 24,
    right: int = 14,
    items_per_condition: int = 2,
    wrong_advice_share: float = 0.5,
    advice: tuple[str, ...] = ("none", "answer", "answer_explanation"),
    **options,
) -> Study:
    """An open decision study: one student's predictions (the first `right` of them correct) in one condition per
    advice (default control, answer only, answer and explanation), every question an item."""
    inference = make_inference_run(make_questions(n_questions), *DECISION_RUN)
    predictions = list(inference.predictions.select_related("question").order_by("question__external_id"))
    for i, prediction in enumerate(
        predictions
    ):  # the first `right` answer their question's key, the rest not
        key = prediction.question.answer_key
        prediction.predicted_label = (
            key if i < right else OPTION_LABELS[(OPTION_LABELS.index(key) + 1 + i % 4) % 5]
        )
        prediction.correct = prediction.predicted_label == key
    Prediction.objects.bulk_update(predictions, ["predicted_label", "correct"])
    study = services.create_study(
        title="Deciding with a model's advice",
        kind=Study.Kind.DECISION,
        inference_runs=[inference] * len(advice),
        advice=advice,
        items_per_condition=items_per_condition,
        item_count=n_questions,
        wrong_advice_share=wrong_advice_share,
        completion_code="DONE1234",
        screen_out_code="STOP5678",
        **options,
    )
    services.sample_items(study=study, seed=7)
    return services.open_study(study=study)


def answer_right(inference: InferenceRun, right: int) -> None:
    """The first `right` predictions (by question id) answer their question's key, the others another option."""
    predictions = list(inference.predictions.select_related("question").order_by("question__external_id"))
    for i, prediction in enumerate(predictions):
        key = prediction.question.answer_key
        prediction.predicted_label = (
            key if i < right else OPTION_LABELS[(OPTION_LABELS.index(key) + 1 + i % 4) % 5]
        )
        prediction.correct = prediction.predicted_label == key
    Prediction.objects.bulk_update(predictions, ["predicted_label", "correct"])
