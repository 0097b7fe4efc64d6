# Two entry points: `make demo` (set-up + whole pipeline on the sample corpus)
# and `make test` (set-up + lint, format, type and import-layering checks + the fast tier of
# the test suite: every test not marked `slow`, among them one end-to-end run of every stage).
# `make test-all` runs the checks and the whole suite, the slow tier included; CI runs it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= configs/sample.yaml
EXPERIMENT ?= sample
# pytest-xdist workers; tests that must not share the machine's cores say so themselves.
TEST_WORKERS ?= 2

.PHONY: demo test test-all lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/nmt run $(CONFIG)
	printf '%s\n' "the black cats eat the fish ." "my sister will not open the red windows ." "did the old teacher walk to the park ?" \
		| $(BIN)/python -m serving.translate --model serving/models/$(EXPERIMENT)

lint: install
	$(BIN)/ruff check core nmt pipeline seq2seq serving tests benchmarks
	$(BIN)/ruff format --check core nmt pipeline seq2seq serving tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not slow"

test-all: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

clean:
	rm -rf runs serving/models data .pytest_cache .mypy_cache .ruff_cache
