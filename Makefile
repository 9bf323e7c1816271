# Two commands on a fresh machine: `make run` and `make test`. Only Python 3.11 and make needed.
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/pip

.PHONY: run test lint format test-only checkov-venv browsers clean bench bench-evidence bench-profile bench-report soak faults faults-short

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# checkov lives in its own virtualenv: it pins packages that would break pytest's. Its JSONPath
# parser's tables are written once there (scripts/checkov_parse_tables.py): without them checkov
# built them for every parse, 12-15% of its CPU over terraform/.
.venv-checkov/.installed: requirements-checkov.txt scripts/checkov_parse_tables.py
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	.venv-checkov/bin/python scripts/checkov_parse_tables.py
	touch $@

checkov-venv: .venv-checkov/.installed

# The images' lock: docker/Dockerfile installs requirements-lock.txt with --require-hashes --no-deps.
# pip-tools lives in its own virtualenv, at a pinned version (the marker file names it, so a new
# version gets installed). The lock is for the images' platform: pip-compile resolves environment
# markers for the Python that runs it, so it must be CPython 3.11 on Linux x86_64.
PIP_TOOLS_VERSION := 7.6.2
.venv-lock/.pip-tools-$(PIP_TOOLS_VERSION):
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip-tools==$(PIP_TOOLS_VERSION)
	touch $@

## lock: requirements-lock.txt (every runtime package, hashes included) from requirements.txt; commit both
.PHONY: lock
lock: .venv-lock/.pip-tools-$(PIP_TOOLS_VERSION)
	@.venv-lock/bin/python -c 'import platform, sys; sys.exit(not (sys.version_info[:2] == (3, 11) and sys.platform == "linux" and platform.machine() == "x86_64"))' \
		|| { echo "make lock: the images run CPython 3.11 on Linux x86_64; run it on such a machine" >&2; exit 1; }
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements-lock.txt requirements.txt

## terraform-test: init and mock-plan every Terraform root, terraform test validating first (offline, provider mirror)
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

# pytest-xdist: two processes per core (PYTEST_WORKERS=0: all in this process). Half of the
# suite's time is waiting on other processes (Celery workers, Chromium, clamd, a 20 s Redis
# outage, terraform), so one process per core left the cores half idle. Whole suite on an idle
# 2-core machine: -n 2 350 s, -n 4 298-314 s, -n 6 335 s. loadfile runs each test file on one
# worker, so a module's expensive fixtures (a seeded 200k-row database, a Celery worker and
# clamd, the Terraform inits) are built once; --no-loadscope-reorder keeps the order
# tests/conftest.py gives (longest first) instead of xdist's (most tests first), and
# tests/scheduling.py keeps the files that mostly wait to half the workers. (loadgroup
# would be finer, but xdist 3.8 cannot tag nodeids under pytest 9, so its xdist_group marks
# are ignored.)
PYTEST_WORKERS ?= $(shell echo $$((2 * $$(nproc 2>/dev/null || echo 1))))

# PYTHONDONTWRITEBYTECODE is emptied (= off) for the run: these machines set it, and then every
# test process compiled and assertion-rewrote every test module again (collection 14.5 s of CPU
# per process instead of 8.7 s from the second run on: four workers, plus each Celery worker,
# gunicorn and `make run` the tests start). The .pyc files go to __pycache__/ (git-ignored).
test-only: $(VENV)/.dev-installed
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

## bench: throughput and p95 at 10k/100k/1M incidents vs. this machine's ceilings (SIZES=10000,100000 for a quick run), then bench-evidence
bench: $(VENV)/.dev-installed
	SIZES=$(SIZES) ./bench/run.sh

## bench-evidence: 1 GiB upload vs boto3, 1 MB PNG to clean p95, small files/s (EVIDENCE_BENCH_BYTES=268435456 for a quick run)
bench-evidence: $(VENV)/.dev-installed
	$(VENV)/bin/python bench/evidence.py

## bench-profile: where one page's time goes (PAGE=/ SIZE=100000 REQUESTS=50; needs a make bench database)
bench-profile: $(VENV)/.dev-installed
	$(VENV)/bin/python bench/profile_page.py

## bench-report: the combined table of bench/results.json (every bench's latest figures, with dates)
bench-report: $(VENV)/.dev-installed
	$(VENV)/bin/python bench/report.py

## soak: 50 locust users for 5 minutes of mixed work on gunicorn + worker + PostgreSQL/Redis/moto/clamd (SOAK_USERS, SOAK_SECONDS); last line `5xx: N`
soak: $(VENV)/.dev-installed
	$(VENV)/bin/python bench/soak.py

SIZES ?= 10000,100000,1000000

## faults: fault injection against its own PostgreSQL/Redis/clamd/S3/worker/gunicorn -> bench/faults.json (FAULTS_SHORT=1: ~6 min)
faults: $(VENV)/.dev-installed
	FAULTS_SHORT=$(FAULTS_SHORT) $(VENV)/bin/python bench/faults.py

## faults-short: the short form of make faults (fewer trials, shorter outages), as CI runs it
faults-short: $(VENV)/.dev-installed
	FAULTS_SHORT=1 $(VENV)/bin/python bench/faults.py

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .ruff_cache .mypy_cache
