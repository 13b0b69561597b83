# Two commands set everything up on a fresh machine:  make run  /  make test
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test test-unit bench lock clean golden

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); \
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt && \
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . && \
	echo "install: $$(( $$(date +%s) - start ))s"
	touch $(STAMP)

install: $(STAMP)

## The main job on embedded defaults: the model double, a local results folder, no AWS account.
run: install
	$(VENV)/bin/mangaeval evaluate --configs sonnet-3-5-v2 sonnet-4-5 haiku-3-5 nova-lite --dataset v0

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/run_all.py

golden: install
	$(VENV)/bin/mangaeval golden generate --version v0 --per-intent 30
	$(VENV)/bin/mangaeval golden generate --version v1 --per-intent 200 --edge-cases

lock:
	rm -rf /tmp/mangaeval-lock && $(PYTHON) -m venv /tmp/mangaeval-lock
	/tmp/mangaeval-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Complete pinned set for Python 3.11, resolved from requirements.in (make lock). Do not edit by hand."; \
	  /tmp/mangaeval-lock/bin/pip freeze --exclude-editable; } > requirements.txt

clean:
	rm -rf $(VENV) data/results data/cache .pytest_cache
