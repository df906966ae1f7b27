"""The settings a fresh environment yields (nothing set, as `make demo` runs), compared with what the code expects.

The other tests override settings for their own needs (a PostgreSQL database, a Redis broker, a temporary
ARTIFACTS_DIR); this one reads them as a first-time user gets them, in a process of their own.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READ_SETTINGS = """
import json
import django
from django.conf import settings as s
django.setup()
db = s.DATABASES["default"]
values = {
    "ARTIFACTS_DIR": s.ARTIFACTS_DIR,
    "STATIC_ROOT": s.STATIC_ROOT,
    "DEBUG": s.DEBUG,
    "ENGINE": db["ENGINE"],
    "DATABASE_NAME": db["NAME"],
    "CELERY_BROKER_URL": s.CELERY_BROKER_URL,
    "CELERY_TASK_ALWAYS_EAGER": s.CELERY_TASK_ALWAYS_EAGER,
    "RUN_HEARTBEAT_TIMEOUT": s.RUN_HEARTBEAT_TIMEOUT,
    "STUDY_ENTRY_RATE_LIMIT": s.STUDY_ENTRY_RATE_LIMIT,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
}
print(json.dumps({name: [type(v).__module__ + "." + type(v).__qualname__, str(v)] for name, v in values.items()}))
"""


def fresh_settings(**env) -> dict:
    """The settings of a process started with only PATH, HOME and the variables given."""
    result = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(ROOT), **env}
        | {"DJANGO_SETTINGS_MODULE": "distill_site.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return {name: tuple(pair) for name, pair in json.loads(result.stdout.splitlines()[-1]).items()}


def test_a_fresh_environment_yields_the_settings_the_code_expects():
    """Issue 12, failure 2: ARTIFACTS_DIR was an environ.Path when unset, and `ARTIFACTS_DIR / "reports"` raised."""
    path = "pathlib.PosixPath"
    assert fresh_settings() == {
        "ARTIFACTS_DIR": (path, str(ROOT / "var" / "artifacts")),
        "STATIC_ROOT": (path, str(ROOT / "var" / "static")),
        "DEBUG": ("builtins.bool", "True"),
        "ENGINE": ("builtins.str", "django.db.backends.sqlite3"),
        "DATABASE_NAME": ("builtins.str", str(ROOT / "var" / "db.sqlite3")),
        "CELERY_BROKER_URL": ("builtins.str", "memory://"),
        "CELERY_TASK_ALWAYS_EAGER": ("builtins.bool", "True"),
        "RUN_HEARTBEAT_TIMEOUT": ("builtins.int", "60"),
        "STUDY_ENTRY_RATE_LIMIT": ("builtins.int", "30"),
        "ALLOWED_HOSTS": ("builtins.list", "['127.0.0.1', 'localhost', '[::1]']"),
    }


def test_folders_set_in_the_environment_are_paths_too(tmp_path):
    values = fresh_settings(ARTIFACTS_DIR=str(tmp_path / "a"), STATIC_ROOT=str(tmp_path / "s"))
    assert values["ARTIFACTS_DIR"] == ("pathlib.PosixPath", str(tmp_path / "a"))
    assert values["STATIC_ROOT"] == ("pathlib.PosixPath", str(tmp_path / "s"))
