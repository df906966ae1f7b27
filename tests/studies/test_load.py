"""50 participants at once against a live server on PostgreSQL, with the benchmark's simulated annotators.

Django's threaded live server costs less CPU here than gunicorn in separate processes (measured: 25 s
against 34 s for this test); bench/study_load.py measures gunicorn as deployed.
"""

from collections import Counter

import pytest
from django.db import connection

from bench.study_load import Annotator, compare_with_database, run_annotators
from studies.models import Assignment, Participant

from .factories import make_open_study

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(live_server, settings):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/distill")
    settings.STUDY_ENTRY_RATE_LIMIT = 1000  # all of them come from 127.0.0.1
    return live_server.url


def test_fifty_simultaneous_participants_each_complete_the_study_with_every_rating_stored_once(server):
    study = make_open_study()
    annotators = [
        Annotator(base_url=server, entry_path=f"/s/{study.entry_token}/", pid=f"LOAD{i:03d}", seed=i)
        for i in range(50)
    ]
    _wall, errors = run_annotators(annotators)
    assert not errors, errors[:3]
    assert all(a.final_path.endswith("/done/") for a in annotators)
    assert Participant.objects.filter(study=study, status=Participant.Status.COMPLETED).count() == 50

    stored, lost, unexpected = compare_with_database(study.pk, annotators)
    assert (stored, lost, unexpected) == (50 * 13 * 5, 0, 0)

    per_item = Counter(
        Assignment.objects.filter(participant__study=study, explanation__isnull=False).values_list(
            "explanation__condition__name", "explanation__question_id"
        )
    )
    for condition in study.conditions.all():
        counts = [per_item[(condition.name, item.question_id)] for item in study.items.all()]
        assert sum(counts) == 150 and max(counts) - min(counts) <= 1, (condition.name, counts)
    rows = Counter(Participant.objects.filter(study=study).values_list("latin_square_row", flat=True))
    assert max(rows.values()) - min(rows.values()) <= 1
