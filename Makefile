# The two commands of the README: `make run` (set up what running needs, then callmart run on
# the bundled sample) and `make test` (set up the dev and spark extras too, then lint and the
# whole test suite, the Spark parity test included: Spark needs Java 17). Both set up from
# scratch; each install has its own marker, so `make test` after `make run` adds the extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup setup-run browser

setup-run: $(VENV)/.installed-run
setup: $(VENV)/.installed-test

# pip's errors only (twice --quiet): setuptools' notes on editable installs are not for users
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip

# callmart alone (about 575 MB: dbt, DuckDB, Polars, Arrow)
$(VENV)/.installed-run: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install --quiet --quiet -e .
	touch $@

# with the dev and spark extras (about 1.2 GB, pyspark alone 491 MB): also all `run` needs
$(VENV)/.installed-test: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install --quiet --quiet -e '.[dev,spark]'
	touch $@ $(VENV)/.installed-run

run: setup-run
	$(BIN)/callmart run

# lint first (about 40 s): Python style and format, types, the SQL of models, macros and tests
test: setup browser
	$(BIN)/ruff check ingest tests bench setup.py
	$(BIN)/ruff format --check ingest tests bench setup.py
	$(BIN)/mypy
	$(BIN)/sqlfluff lint models macros tests/dbt --processes 2
	$(BIN)/pytest

# The report's screenshot test needs Debian's `chromium`. Installed only when it is missing and
# we are root with apt-get (a CI container); otherwise say so: the test skips locally and fails
# under CI ($$CI set).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (for the report screenshot test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
			|| echo "warning: could not install chromium; the report screenshot test will not run"; \
	else \
		echo "note: chromium is not installed and cannot be installed here (not root or no apt-get);"; \
		echo "      the report screenshot test skips (and fails under CI)."; \
	fi
