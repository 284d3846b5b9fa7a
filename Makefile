# The two commands of the README: `make run` (set up, then callmart run on the bundled sample)
# and `make test` (set up, then lint and the whole test suite). Both set up from scratch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/callmart run

test: setup
	$(BIN)/ruff check ingest tests
	$(BIN)/pytest
