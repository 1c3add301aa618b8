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

.PHONY: run test venv lint typecheck clean-data bench

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
	$(VENV)/bin/lint-imports

# mypy's django plugin loads the settings, which (debug off) want a secret key; any will do here.
typecheck: $(STAMP)
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-typecheck-only} $(VENV)/bin/mypy .

clean-data:
	rm -rf .data

# The benchmarks in bench/ (figures in bench/RESULTS.md), one after the other:
# - the rating command against arena-rank and the usual approach; arena-rank pins its own numpy and jax, so
#   it gets a virtual environment of its own, .venv-bench; BENCH_ARGS go to bench/ratings_bench.py;
# - the load benchmarks (bench/run.py; BENCH_LOAD_ARGS, e.g. `--only votes,cycles --duration 10 --repeat 3`
#   or `--no-write`) against a production-settings stack (bench/stack.py) on scratch servers:
#   BENCH_DATABASE_URL (a database whose name contains "bench"; dropped and created) and BENCH_REDIS_URL
#   with BENCH_REDIS_DB_OFFSET (databases n..n+2, emptied; default 13), else embedded ones in .data/bench;
# - bench/snapshot_bench.py on that stack's scratch database (it replaces the arena data there; it reads
#   the database from BENCH_DATABASE_URL, and DATABASE_URL is set to the same for the scripts that read it);
# - Lighthouse (mobile) on the public pages of a fresh stack (bench/lighthouse.py; npm installs Lighthouse
#   into bench/lighthouse/node_modules on first use, Debian's Chromium runs it; BENCH_LIGHTHOUSE_ARGS).
BENCH_VENV ?= .venv-bench
BENCH_LOAD_ARGS ?=
BENCH_LIGHTHOUSE_ARGS ?=

$(BENCH_VENV)/.installed: bench/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q -r bench/requirements.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed
	$(PY) bench/ratings_bench.py --arena-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)
	$(PY) bench/run.py $(BENCH_LOAD_ARGS)
	$(PY) bench/stack.py database -- sh -c 'DATABASE_URL="$$BENCH_SCRATCH_DATABASE_URL" \
		BENCH_DATABASE_URL="$$BENCH_SCRATCH_DATABASE_URL" $(PY) bench/snapshot_bench.py'
	$(PY) bench/lighthouse.py $(BENCH_LIGHTHOUSE_ARGS)
