"""Power before launch: the study admin links a page giving the participants needed for this study's design."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from studies import services
from studies.analysis import PlannedDesign, participants_for_power

from .factories import make_inference_runs, make_open_study

pytestmark = pytest.mark.django_db


def power_url(study) -> str:
    return reverse("admin:studies_study_power", args=[study.pk])


def ask(client, study, **query):
    query = {"unit": "points", "test": "dunn", "outcome": "scale", "simulations": 200, **query}
    response = client.get(power_url(study), query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_study_admin_links_the_power_page(staff_client):
    study = make_open_study()
    page = staff_client.get(reverse("admin:studies_study_change", args=[study.pk])).content.decode()
    assert f'href="{power_url(study)}"' in page
    page = staff_client.get(power_url(study)).content.decode()
    assert "<strong>4 conditions</strong>" in page and "<strong>3 items per condition</strong>" in page
    assert "drawn from 16 questions" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"expected": "0.5", "unit": "points"}, {"difference": 0.5}),
        ({"expected": "0.6", "unit": "a", "test": "kruskal_wallis", "outcome": "quality"}, {"a": 0.6}),
    ],
)
def test_the_number_is_what_participants_for_power_gives_for_this_design(staff_client, query, expected):
    study = make_open_study()  # 4 conditions, 3 items each per participant, 5 scales, 16 items
    page = ask(staff_client, study, **query)
    direct = participants_for_power(
        PlannedDesign(conditions=4, items_per_condition=3, scales=5, questions=16),
        test=query.get("test", "dunn"),
        outcome=query.get("outcome", "scale"),
        n_simulations=200,
        **expected,
    )
    assert direct.participants is not None
    assert f"<strong>{direct.participants} participants</strong> are needed for 80% power." in page
    assert escape(direct.statement) in page
    assert 'src="data:image/png;base64,' in page


def test_bad_input_and_unfit_designs_are_explained(staff_client):
    study = make_open_study()
    assert "As A, the difference lies between 0.5 (none) and 1" in ask(
        staff_client, study, expected="1.2", unit="a"
    )
    assert "In scale points, the difference must be above 0." in ask(staff_client, study, expected="0")

    draft = services.create_study(title="One condition", inference_runs=make_inference_runs()[:1])
    page = ask(staff_client, draft, expected="0.5")
    assert "Power cannot be simulated for this design yet: the study has 1 condition(s)" in page
    assert "participants</strong> are needed" not in page


def test_the_power_page_is_for_staff_only(client, plain_client):
    study = make_open_study()
    assert plain_client.get(power_url(study)).status_code == 403
