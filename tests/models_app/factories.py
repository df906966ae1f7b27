"""Small helpers that create the rows and files a test needs, with sensible defaults."""

import json
from pathlib import Path

from models_app import services
from models_app.models import (
    OPTION_LABELS,
    Checkpoint,
    Dataset,
    GenerationRun,
    InferenceRun,
    Prediction,
    Question,
    Run,
    Teacher,
    TeacherOutput,
    TrainingRun,
)
from models_app.run_settings import validate_run

CHOICES = ["shelf", "box", "car", "desk", "bag"]
# Six train questions a tiny student can be trained on: (id, text, choices, answer key).
QUESTIONS = [
    ("q0", "Where do you keep milk cold?", ["oven", "fridge", "garden", "attic", "car"], "B"),
    ("q1", "What do you read a story in?", ["book", "spoon", "shoe", "lamp", "rug"], "A"),
    ("q2", "What do you wear on your feet?", ["hat", "glove", "sock", "scarf", "belt"], "C"),
    ("q3", "What keeps rain off your head?", ["umbrella", "fork", "sand", "bread", "chair"], "A"),
    ("q4", "Where does a fish live?", ["tree", "desert", "cloud", "water", "road"], "D"),
    ("q5", "What tells you the time?", ["plate", "clock", "pillow", "brush", "coin"], "B"),
]


def make_dataset(name: str = "tiny-cqa", n_questions: int = 3, split: str = Question.Split.TRAIN) -> Dataset:
    dataset = Dataset.objects.create(name=name, source="tests")
    for i in range(n_questions):
        Question.objects.create(
            dataset=dataset,
            external_id=f"q{i}",
            split=split,
            text=f"Where is thing {i}?",
            choices=CHOICES,
            answer_key="B",
        )
    return dataset


def add_questions(dataset: Dataset, ids: list[str], split: str, answer_key: str = "B") -> list[Question]:
    return [
        Question.objects.create(
            dataset=dataset,
            external_id=qid,
            split=split,
            text=f"Where is {qid}?",
            choices=CHOICES,
            answer_key=answer_key,
        )
        for qid in ids
    ]


def recorded_teacher() -> Teacher:
    return Teacher.objects.get_or_create(
        name="recorded-teacher", defaults={"backend": Teacher.Backend.RECORDED, "model": "outputs.jsonl"}
    )[0]


def make_generation_run(**fields) -> GenerationRun:
    dataset = fields.pop("dataset", None) or Dataset.objects.first() or make_dataset()
    defaults = {
        "teacher": recorded_teacher(),
        "dataset": dataset,
        "split": "train",
        "method": "explain",
        "name": "test run",
    }
    defaults.update(fields)
    return GenerationRun.objects.create(**defaults)


def make_teacher_data(
    dataset: Dataset, kinds: tuple[str, ...] = ("explanation", "revised_explanation", "option_explanation")
) -> GenerationRun:
    """A succeeded recorded generation run with outputs of `kinds` for every train question of the dataset."""
    run = make_generation_run(
        dataset=dataset,
        method=GenerationRun.Method.RECORDED,
        status=Run.Status.SUCCEEDED,
        name="teacher data",
    )
    rows = []
    for question in dataset.questions.filter(split=Question.Split.TRAIN):
        for kind in kinds:
            labels = OPTION_LABELS if kind == "option_explanation" else ("",)
            rows += [
                TeacherOutput(
                    generation_run=run,
                    question=question,
                    kind=kind,
                    option_label=label,
                    text=f"{kind} {label} of {question.external_id}",
                )
                for label in labels
            ]
    TeacherOutput.objects.bulk_create(rows)
    return run


def new_run(run: Run, *, generation_runs=(), launch: bool = False) -> Run:
    """A new run made as the admin makes one: its settings validated (`run_settings.validate_run`), then saved;
    created, not launched, unless `launch`."""
    return services.create_run(
        validated=validate_run(run=run, generation_runs=generation_runs), launch=launch
    )


def make_training_run(dataset: Dataset | None = None, generation_runs=(), **fields) -> TrainingRun:
    dataset = dataset or Dataset.objects.first() or make_dataset()
    defaults = {
        "dataset": dataset,
        "student": "tiny-t5",
        "method": "multitask",
        "data_variant": "unrevised",
        "seed": 0,
        "name": "training",
    }
    defaults.update(fields)
    run = TrainingRun.objects.create(**defaults)
    run.generation_runs.set(generation_runs)
    return run


def make_trained_run(**fields) -> TrainingRun:
    """A succeeded training run with a best and a last checkpoint."""
    run = make_training_run(**{"status": Run.Status.SUCCEEDED, **fields})
    for role in Checkpoint.Role.values:
        Checkpoint.objects.create(training_run=run, role=role, step=10, path=f"/ckpt/{run.pk}/{role}")
    return run


def make_inference_run(
    training_run: TrainingRun, correct: list[bool], metrics: dict | None = None
) -> InferenceRun:
    """A succeeded inference run on the validation split with one prediction per entry of `correct`."""
    dataset = training_run.dataset
    questions = list(dataset.questions.filter(split=Question.Split.VALIDATION).order_by("external_id"))
    assert len(questions) >= len(correct), "add validation questions first"
    run = InferenceRun.objects.create(
        training_run=training_run,
        dataset=dataset,
        split=Question.Split.VALIDATION,
        status=Run.Status.SUCCEEDED,
        metrics=metrics or {},
    )
    Prediction.objects.bulk_create(
        Prediction(
            inference_run=run,
            question=question,
            predicted_label=question.answer_key if ok else "A",
            correct=ok,
            explanation=f"because {question.external_id}",
            parse_rule="exact",
        )
        for question, ok in zip(questions, correct, strict=False)
    )
    return run


def write_jsonl(path: Path, rows: list) -> Path:
    """Rows as JSONL; a str row is written as it is (to make a broken line)."""
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def cqa_row(qid: str, answer: str = "B", text: str | None = None) -> dict:
    return {
        "id": qid,
        "question": text or f"Where would you keep {qid}?",
        "choices": {"label": list(OPTION_LABELS), "text": CHOICES},
        "answerKey": answer,
    }


def recorded_row(qid: str, critique: bool = False) -> dict:
    row = {
        "id": qid,
        "answer": "box",
        "explanation": f"A box holds {qid}.\nQuestion: the next one",
        "revised_explanation": f"The answer is box: boxes hold {qid}.",
        "option_explanations": [f"{choice} for {qid}" for choice in CHOICES],
    }
    if critique:
        row["critique"] = f"The explanation of {qid} is vague."
    return row
