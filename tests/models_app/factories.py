"""Small helpers that create the rows a test needs, with sensible defaults."""

from models_app.models import Dataset, GenerationRun, Question, Teacher


def make_dataset(name: str = "tiny-cqa", n_questions: int = 3) -> Dataset:
    dataset = Dataset.objects.create(name=name, source="tests")
    for i in range(n_questions):
        Question.objects.create(
            dataset=dataset,
            external_id=f"q{i}",
            split=Question.Split.TRAIN,
            text=f"Where is thing {i}?",
            choices=["shelf", "box", "car", "desk", "bag"],
            answer_key="B",
        )
    return dataset


def make_generation_run(**fields) -> GenerationRun:
    teacher = Teacher.objects.get_or_create(
        name="recorded-teacher", defaults={"backend": Teacher.Backend.RECORDED, "model": "outputs.jsonl"}
    )[0]
    dataset = fields.pop("dataset", None) or Dataset.objects.first() or make_dataset()
    defaults = {
        "teacher": teacher,
        "dataset": dataset,
        "split": "train",
        "method": "explain",
        "name": "test run",
    }
    defaults.update(fields)
    return GenerationRun.objects.create(**defaults)
