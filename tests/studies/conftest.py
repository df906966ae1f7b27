import pytest

from .factories import make_open_study


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Staff users are created in many tests; the production hasher takes a second per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(db):
    """Open: four paper conditions, 16 items, 3 items per condition and one attention check (13 pages)."""
    return make_open_study()
