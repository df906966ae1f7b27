import pytest

from .factories import make_open_study


@pytest.fixture
def study(db):
    """Open: four paper conditions, 16 items, 3 items per condition and one attention check (13 pages)."""
    return make_open_study()
