"""The runs of the grid a training run belongs to: same dataset, hyperparameters and teacher data."""

import pytest

from models_app.models import TrainingRun
from models_app.selectors import experiment_results

from .factories import make_dataset, make_generation_run

pytestmark = pytest.mark.django_db


def training_run(
    dataset, teacher_data, method="multitask", variant="unrevised", seed=0, **fields
) -> TrainingRun:
    run = TrainingRun.objects.create(
        student=fields.pop("student", "t5-small"),
        method=method,
        data_variant=variant,
        seed=seed,
        dataset=dataset,
        **fields,
    )
    run.generation_runs.set(teacher_data)
    return run


def test_experiment_results_are_the_runs_of_the_same_grid():
    dataset = make_dataset()
    teacher, other_teacher = [make_generation_run(dataset=dataset)], [make_generation_run(dataset=dataset)]
    behind = [training_run(dataset, teacher), training_run(dataset, teacher, "counterfactual", "revised")]
    same_grid = [
        training_run(dataset, teacher, seed=1),
        training_run(dataset, teacher, seed=1, student="t5-base"),
        training_run(dataset, teacher, "counterfactual", "unrevised"),  # methods x variants are crossed
    ]
    training_run(dataset, other_teacher, seed=2)  # other teacher data
    training_run(dataset, teacher, seed=3, hyperparameters={"max_steps": 10})  # other settings
    training_run(dataset, teacher, "standard", seed=4)  # a method none of the runs has
    training_run(make_dataset("other"), teacher, seed=5)  # another dataset

    results = experiment_results(training_runs=behind)
    assert sorted(r.run.pk for r in results) == sorted(r.pk for r in behind + same_grid)
    assert all(r.accuracy is None for r in results)  # no inference run yet
    assert experiment_results(training_runs=[]) == []
