from datetime import timedelta

import pytest
from django.utils import timezone

from models_app.models import InferenceRun, Question, Run
from tests.models_app.factories import (
    add_questions,
    make_dataset,
    make_inference_run,
    make_trained_run,
    make_training_run,
)


@pytest.fixture
def experiment():
    """tiny-t5: multitask/unrevised over seeds 0–2 (60% ± 20), standard/unrevised seed 0 (20%), one still running."""
    dataset = make_dataset(n_questions=0)
    add_questions(dataset, [f"v{i}" for i in range(5)], split=Question.Split.VALIDATION, answer_key="D")
    runs = {}
    for seed, n_correct, consistency in ((0, 3, 0.5), (1, 2, 0.7), (2, 4, 0.9)):
        run = make_trained_run(dataset=dataset, method="multitask", seed=seed, name=f"mt seed {seed}")
        outdated = make_inference_run(run, [False] * 5)
        InferenceRun.objects.filter(pk=outdated.pk).update(finished_at=timezone.now() - timedelta(days=1))
        latest = make_inference_run(
            run,
            [True] * n_correct + [False] * (5 - n_correct),
            {"consistency": consistency, "rouge_l": {"f": 0.25}},
        )
        InferenceRun.objects.filter(pk=latest.pk).update(finished_at=timezone.now())
        InferenceRun.objects.create(training_run=run, dataset=dataset, status=Run.Status.FAILED, error="oom")
        runs[seed] = (run, latest)
    standard = make_trained_run(dataset=dataset, method="standard", seed=0, name="baseline")
    make_inference_run(standard, [True] + [False] * 4, {"accuracy": 0.2, "explanation_length": 0})
    running = make_training_run(
        dataset=dataset, method="counterfactual", status=Run.Status.RUNNING, name="cf"
    )
    return {"dataset": dataset, "runs": runs, "standard": standard, "running": running}
