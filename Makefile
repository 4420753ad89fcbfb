# The two commands of the README: `make up` (set up and run the stack) and `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: up test lint tools seed schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)
	$(VENV)/bin/integra up

seed: $(STAMP)
	$(VENV)/bin/integra seed

schema: $(STAMP)
	$(VENV)/bin/integra export-schema

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

# promtool (Debian package `prometheus`) checks and unit-tests the Prometheus rules.
tools:
	sh deploy/install-promtool.sh

test: lint tools
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
