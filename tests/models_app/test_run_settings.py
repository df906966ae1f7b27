"""A run's settings are validated once, where they enter, against the library's own rules.

The ranges the admin and the API enforce are those in `TrainConfig`'s field metadata (read here, not restated), and
the services save only what a validation returned, without checking it again.
"""

from dataclasses import fields

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from models_app import services
from models_app.hyperparameters import HYPERPARAMETERS
from models_app.models import TrainingRun
from models_app.run_settings import ValidatedRun, validate_run, validate_training_grid
from tests.models_app.factories import make_dataset, make_teacher_data
from training.config import TrainConfig, allowed_values

METADATA = {spec.name: spec.metadata for spec in fields(TrainConfig)}
DEFAULTS = TrainConfig.defaults()


@pytest.fixture
def dataset(db):
    return make_dataset(n_questions=4)  # train questions: a run's settings are checked against these


@pytest.fixture
def teacher_data(dataset):
    return make_teacher_data(dataset)


def training_payload(dataset, teacher_data, **changes) -> dict:
    return {
        "dataset": dataset.pk,
        "student": "tiny-t5",
        "method": "multitask_counterfactual",
        "data_variant": "unrevised",
        "seed": 0,
        "generation_runs": [teacher_data.pk],
        "launch": False,
    } | changes


def test_the_admin_offers_every_overridable_setting_with_the_range_from_the_library(staff_client, db):
    page = staff_client.get("/admin/models_app/trainingrun/add/").content.decode()
    for name, spec in HYPERPARAMETERS.items():
        assert spec.metadata is METADATA[name] and name in page
        if allowed_values(spec.metadata):
            assert f"{name} ({spec.metadata['help']}; {allowed_values(spec.metadata)};" in page.replace(
                "&#x27;", "'"
            )


@pytest.mark.parametrize("name", ["gamma", "lora_rank", "counterfactuals_per_question"])
def test_a_value_past_the_librarys_maximum_is_refused_by_the_api_and_the_admin_naming_the_range(
    staff_client, dataset, teacher_data, name
):
    metadata = METADATA[name]
    too_big = metadata["maximum"] + 1
    as_stored = type(DEFAULTS[name])(too_big)  # a float setting given 2 holds 2.0
    expected = f"{name} must be {allowed_values(metadata)}, got {as_stored!r}"

    response = staff_client.post(
        "/api/training-runs/",
        training_payload(dataset, teacher_data, hyperparameters={name: too_big}),
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json() == {"hyperparameters": [expected]}

    page = staff_client.post(
        "/admin/models_app/trainingrun/add/",
        training_payload(dataset, teacher_data, hyperparameters=f'{{"{name}": {too_big}}}'),
    )
    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {"hyperparameters": [expected]}

    at_most = staff_client.post(
        "/api/training-runs/",
        training_payload(dataset, teacher_data, hyperparameters={name: metadata["maximum"]}),
        content_type="application/json",
    )
    assert at_most.status_code == 201, at_most.json()
    assert TrainingRun.objects.get().hyperparameters[name] == metadata["maximum"]


def test_create_run_saves_only_a_validated_run_and_does_not_check_it_again(dataset, teacher_data):
    run = TrainingRun(dataset=dataset, student="tiny-t5", method="multitask", data_variant="revised")
    with pytest.raises(TypeError, match="ValidatedRun"):
        services.create_run(validated=run, launch=False)
    with pytest.raises(TypeError, match="comes from run_settings.validate_run"):
        ValidatedRun(run=run, generation_runs=(teacher_data,))

    checked_tables = ("models_app_question", "models_app_teacheroutput")
    with CaptureQueriesContext(connection) as validation:
        validated = validate_run(run=run, generation_runs=[teacher_data])
    assert any(table in q["sql"] for q in validation.captured_queries for table in checked_tables)
    with CaptureQueriesContext(connection) as saving:
        saved = services.create_run(validated=validated, launch=False)
    assert not [q["sql"] for q in saving.captured_queries if any(t in q["sql"] for t in checked_tables)]
    assert saved.pk and saved.hyperparameters["max_steps"] == TrainConfig().max_steps
    assert list(saved.generation_runs.all()) == [teacher_data]


def test_a_blank_student_is_refused_by_the_library_beside_the_field_it_came_from(dataset, teacher_data):
    run = TrainingRun(dataset=dataset, student="  ", method="multitask", data_variant="unrevised")
    with pytest.raises(ValidationError) as refused:
        validate_run(run=run, generation_runs=[teacher_data])
    assert list(refused.value.message_dict) == ["student"]
    assert "Name a student" in refused.value.message_dict["student"][0]

    with pytest.raises(ValidationError) as refused:
        validate_training_grid(
            dataset=dataset,
            generation_runs=[teacher_data],
            students=["tiny-t5", " "],
            methods=["multitask"],
            data_variants=["unrevised"],
            seeds=[0],
        )
    assert list(refused.value.message_dict) == ["students"]


def test_an_empty_hyperparameters_box_in_the_admin_still_checks_the_teacher_data(staff_client, dataset):
    """The form validates the whole run (the defaults included); saving never meets a problem the form missed."""
    no_options = make_teacher_data(dataset, kinds=("explanation",))
    page = staff_client.post(
        "/admin/models_app/trainingrun/add/",
        training_payload(dataset, no_options, hyperparameters=""),
    )
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "needs a teacher option explanation" in errors["generation_runs"][0]
    assert not TrainingRun.objects.exists()

    accepted = staff_client.post(
        "/admin/models_app/trainingrun/add/",
        training_payload(dataset, make_teacher_data(dataset), hyperparameters=""),
    )
    assert accepted.status_code == 302
    assert TrainingRun.objects.get().hyperparameters == {
        name: spec.default for name, spec in HYPERPARAMETERS.items()
    }
