# Two commands set everything up on a fresh machine:  make run  /  make test
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test test-unit bench lock clean golden services browser dashboards deploy-up deploy-down deploy-status deploy-test snapshots

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); \
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt && \
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . && \
	echo "install: $$(( $$(date +%s) - start ))s"
	touch $(STAMP)

install: $(STAMP)

# Airflow on embedded defaults: metadata in SQLite under the project, this project's DAGs only.
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/airflow_home AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(CURDIR)/airflow_home/airflow.db
TIERS := sonnet haiku nova custom

## The main job: the model_evaluation DAG once, end to end, on embedded defaults (the model double, a local
## folder as object store, DuckDB as warehouse; no AWS account), then the routing table and projection.
run: install
	@mkdir -p airflow_home
	@$(AIRFLOW_ENV) $(VENV)/bin/airflow db migrate > airflow_home/db-migrate.log 2>&1 || { cat airflow_home/db-migrate.log; exit 1; }
	@for tier in $(TIERS); do $(AIRFLOW_ENV) $(VENV)/bin/airflow pools set bedrock_$$tier 4 "Bedrock calls to $$tier-tier models" > /dev/null; done
	@start=$$(date +%s); \
	$(AIRFLOW_ENV) $(VENV)/bin/airflow dags test model_evaluation > airflow_home/last-run.log 2>&1 \
	  || { tail -n 60 airflow_home/last-run.log; echo "model_evaluation failed: full log in airflow_home/last-run.log"; exit 1; }; \
	echo "model_evaluation finished in $$(( $$(date +%s) - start ))s (task logs: airflow_home/last-run.log)"
	@$(VENV)/bin/mangaeval report

## The dashboards of `make run`'s data: the Airflow API server with this project's plugin on http://127.0.0.1:8080
## (UI: Plugins > MangaEval; pages under /mangaeval/). Log in as admin: the password is in
## airflow_home/simple_auth_manager_passwords.json.generated.
dashboards: install
	@mkdir -p airflow_home
	@$(AIRFLOW_ENV) $(VENV)/bin/airflow db migrate > airflow_home/db-migrate.log 2>&1 || { cat airflow_home/db-migrate.log; exit 1; }
	$(AIRFLOW_ENV) AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins $(VENV)/bin/airflow api-server --port 8080

# Integration tests use the machine's PostgreSQL on 127.0.0.1:5432: start it if it is installed but stopped.
# Where there is none, those tests skip with the reason; everything else runs.
services:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  if command -v pg_ctlcluster >/dev/null; then \
	    for v in $$(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect $$v main start || true; done; \
	  fi; \
	  pg_isready -q -h 127.0.0.1 -p 5432 || echo "make: PostgreSQL is not running on 127.0.0.1:5432: its tests will skip"; \
	fi

# The dashboards' browser tests drive Debian's chromium through chromium-driver: installed here when missing and this
# runs as root with apt-get; otherwise those tests skip with the reason.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing chromium and chromium-driver for the browser tests (apt-get, a few minutes)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } > /tmp/mangaeval-apt.log 2>&1 \
	      || echo "make: chromium could not be installed (/tmp/mangaeval-apt.log): the browser tests will skip"; \
	  else \
	    echo "make: chromium or chromium-driver is missing and this is not root: the browser tests will skip"; \
	  fi; \
	fi

test: install services browser
	$(PY) -m pytest -q

## The multi-worker deployment of docker-compose.yaml without Docker (CeleryExecutor on this machine's PostgreSQL and
## Redis): deploy/local.py. State, PID files and logs in .deploy/.
deploy-up: install services
	$(PY) deploy/local.py up

deploy-down:
	$(PY) deploy/local.py down

deploy-status:
	$(PY) deploy/local.py status

# A fresh deployment in .deploy-test/, two runs of model_evaluation through the REST API, checks, then down.
# Also part of `make test` (tests/test_deploy.py), skipped with the reason when PostgreSQL or Redis is not up.
deploy-test: install services
	MANGAEVAL_DEPLOY_DIR=$(CURDIR)/.deploy-test $(PY) deploy/local.py test

bench: install
	$(PY) benchmarks/run_all.py

## Rewrite the pinned scorer figures on the fixture library (tests/snapshots/) after an intended change; commit the diff.
snapshots: install
	MANGAEVAL_UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_fixture_snapshots.py
	@git --no-pager diff --stat -- tests/snapshots/ 2>/dev/null || true

golden: install
	$(VENV)/bin/mangaeval golden generate --version v0 --per-intent 30
	$(VENV)/bin/mangaeval golden generate --version v1 --per-intent 200 --edge-cases
	$(VENV)/bin/mangaeval golden generate --version v2 --per-intent 200 --edge-cases --recipe v2

lock:
	rm -rf /tmp/mangaeval-lock && $(PYTHON) -m venv /tmp/mangaeval-lock
	/tmp/mangaeval-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Complete pinned set for Python 3.11, resolved from requirements.in (make lock). Do not edit by hand."; \
	  /tmp/mangaeval-lock/bin/pip freeze --exclude-editable; } > requirements.txt

clean:
	rm -rf $(VENV) data .pytest_cache airflow_home .deploy-test
