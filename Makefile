# Arena Hub: `make run` serves the site with demo models, `make test` runs the full suite.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test venv lint typecheck clean-data

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[worker,dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	$(PY) -c "import django, torch, transformers, celery, channels"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m config.run

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

clean-data:
	rm -rf .data
