# Two commands on a fresh machine: `make run` and `make test`. Only Python 3.11 and make needed.
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/pip

.PHONY: run test lint format test-only checkov-venv browsers clean bench bench-evidence

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# checkov lives in its own virtualenv: it pins packages that would break pytest's.
.venv-checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

checkov-venv: .venv-checkov/.installed

## terraform-test: init, validate and mock-plan every Terraform root (offline, provider mirror)
.PHONY: terraform-test
terraform-test: $(VENV)/.dev-installed
	$(VENV)/bin/python -m pytest tests/infra/test_infra_terraform.py $(PYTEST_ARGS)

## run: the app on SQLite + local disk at http://127.0.0.1:8000 (DEV=1 for the Flask dev server)
run: $(VENV)/.runtime-installed
	./scripts/run.sh

## test: lint (ruff, mypy) and the whole suite in parallel (PostgreSQL, browser and infrastructure tests included)
test: $(VENV)/.dev-installed checkov-venv lint test-only

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# pytest-xdist: one process per core (PYTEST_WORKERS=0: all in this process). loadfile runs each
# test file on one worker, so a module's expensive fixtures (a seeded 200k-row database, a
# Celery worker and clamd, the Terraform inits) are built once. (loadgroup would be finer, but
# xdist 3.8 cannot tag nodeids under pytest 9, so its xdist_group marks are ignored.)
PYTEST_WORKERS ?= auto

test-only: $(VENV)/.dev-installed
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## bench: throughput and p95 at 10k/100k/1M incidents vs. this machine's ceilings (SIZES=10000,100000 for a quick run), then bench-evidence
bench: $(VENV)/.dev-installed
	SIZES=$(SIZES) ./bench/run.sh

## bench-evidence: 1 GiB upload vs boto3, 1 MB PNG to clean p95, small files/s (EVIDENCE_BENCH_BYTES=268435456 for a quick run)
bench-evidence: $(VENV)/.dev-installed
	$(VENV)/bin/python bench/evidence.py

SIZES ?= 10000,100000,1000000

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .ruff_cache .mypy_cache
