"""Settings, read from environment variables (see the configuration table in README.md).

With nothing set, the site runs on a SQLite file under var/ and runs jobs in-process: the embedded
default for a first run. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY and DEBUG=0.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def env_path(name: str, default: Path) -> Path:
    """A folder from the environment as a pathlib.Path (django-environ's own `env.path` returns its Path class,
    which does not support `/` with a string)."""
    return Path(env.str(name, default=str(default))).expanduser()


DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0 (e.g. a 50-character random string).")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "distill_site.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "models_app",
    "studies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "distill_site.urls"
WSGI_APPLICATION = "distill_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Jobs run in threads beside the web server: wait for the write lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "distill_site" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Checkpoints, generated files, reports.
ARTIFACTS_DIR = env_path("ARTIFACTS_DIR", VAR_DIR / "artifacts")

# --- Security: secure by default once DEBUG is off (manage.py check --deploy passes). ---
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Celery: with no broker, jobs run in-process (in a thread beside the web server). ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # a job's state lives on its run row, not in a result backend
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after this long; it must exceed the longest job.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=48 * 3600)
}
# A running job writes a heartbeat every RUN_HEARTBEAT_INTERVAL seconds; one whose last heartbeat is older than
# RUN_HEARTBEAT_TIMEOUT is declared dead (its worker died) and its run or report marked failed, by beat every
# interval.
RUN_HEARTBEAT_INTERVAL = env.int("RUN_HEARTBEAT_INTERVAL", default=10)
RUN_HEARTBEAT_TIMEOUT = env.int("RUN_HEARTBEAT_TIMEOUT", default=60)
if not 0 < RUN_HEARTBEAT_INTERVAL * 3 <= RUN_HEARTBEAT_TIMEOUT:
    raise ImproperlyConfigured(
        f"RUN_HEARTBEAT_TIMEOUT ({RUN_HEARTBEAT_TIMEOUT} s) must be at least three heartbeats "
        f"(RUN_HEARTBEAT_INTERVAL = {RUN_HEARTBEAT_INTERVAL} s, which must be positive), or live jobs are reaped"
    )
# With no broker, `manage.py demo` runs this schedule in a thread beside the web server (distill_site.background).
CELERY_BEAT_SCHEDULE = {
    "fail-stale-runs": {
        "task": "models_app.tasks.fail_stale_runs",
        "schedule": float(RUN_HEARTBEAT_INTERVAL),
    },
    "fail-stale-reports": {
        "task": "studies.tasks.fail_stale_reports",
        "schedule": float(RUN_HEARTBEAT_INTERVAL),
    },
    "release-abandoned-participants": {
        "task": "studies.tasks.release_abandoned_participants",
        "schedule": 60.0,
    },
}

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Distillation study API",
    "DESCRIPTION": "Runs, predictions and studies of the distillation platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set used by several serializers.
    "ENUM_NAME_OVERRIDES": {
        "GenerationMethodEnum": "models_app.models.GenerationMethod",
        "TrainingMethodEnum": "models_app.models.TrainingMethod",
        "DataVariantEnum": "models_app.models.DataVariant",
        "CheckpointRoleEnum": "models_app.models.CheckpointRole",
        "RunStatusEnum": "models_app.models.RunStatus",
        "DatasetKindEnum": "models_app.models.DATASET_KINDS",
        "RunKindEnum": "models_app.models.RunKind",
        "StudyStatusEnum": "studies.models.Study.Status",
    },
}

# Study entries per client address per minute (each Prolific participant has their own address).
STUDY_ENTRY_RATE_LIMIT = env.int("STUDY_ENTRY_RATE_LIMIT", default=30)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
