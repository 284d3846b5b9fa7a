# The two commands of the README: `make run` (set up, then callmart run on the bundled sample)
# and `make test` (set up, then lint and the whole test suite, the Spark parity test included:
# the `spark` extra is installed, and Spark needs Java 17). Both set up from scratch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup browser

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

run: setup
	$(BIN)/callmart run

test: setup browser
	$(BIN)/ruff check ingest tests
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
