# The two commands of the README: `make up` (set up and run the stack) and `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed
NPM ?= npm
GRAPHIQL_MODULES := gateway/graphiql/node_modules/.package-lock.json
FEDERATION_MODULES := tests/federation/node_modules/.package-lock.json
# apt-get install, as root or through sudo (Debian packages the tests need).
APT_INSTALL = if [ "$$(id -u)" -eq 0 ]; then S=; else S=sudo; fi; \
	$$S env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$S env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

.PHONY: up test lint tools seed schema clean graphiql federation node chromium lock

# The venv installs exactly the pins of requirements.lock (runtime + dev, with hashes), then
# Integra itself without dependencies; a change of pyproject.toml or of the lock reinstalls.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The locks, from PyPI whatever pip or uv are configured with on this machine:
# requirements.lock (runtime + dev: make, CI) and requirements-runtime.lock (runtime only, the
# image), the latter constrained by the former so the image runs the versions CI tested.
#   make lock                                   keep the pins, add what pyproject.toml adds
#   make lock UPGRADE=--upgrade                 every package to its newest allowed version
#   make lock UPGRADE='--upgrade-package httpx' one package (the option may repeat)
UV ?= $(VENV)/bin/uv
UV_FROM_PYPI = env -u UV_INDEX -u UV_EXTRA_INDEX_URL -u UV_FIND_LINKS -u UV_NO_INDEX $(UV)
UPGRADE ?=
LOCK_OPTIONS = --no-config --index-url https://pypi.org/simple --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' --quiet
lock: $(STAMP)
	$(UV_FROM_PYPI) pip compile pyproject.toml --extra dev $(LOCK_OPTIONS) $(UPGRADE) -o requirements.lock
	$(UV_FROM_PYPI) pip compile pyproject.toml --constraint requirements.lock $(LOCK_OPTIONS) $(UPGRADE) \
		-o requirements-runtime.lock

up: $(STAMP) graphiql
	$(VENV)/bin/integra up

seed: $(STAMP)
	$(VENV)/bin/integra seed

schema: $(STAMP)
	$(VENV)/bin/integra export-schema

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

# GraphiQL's assets (React 18, ReactDOM 18, GraphiQL 3 UMD builds), pinned by
# gateway/graphiql/package-lock.json and served by the gateway itself (no CDN). Without npm,
# `make up` still runs the stack and /graphql in a browser says how to install them.
graphiql: $(GRAPHIQL_MODULES)
$(GRAPHIQL_MODULES): gateway/graphiql/package-lock.json
	@if command -v $(NPM) >/dev/null 2>&1; then \
		cd gateway/graphiql && $(NPM) ci --no-audit --no-fund --loglevel=error && \
		touch node_modules/.package-lock.json; \
	else echo "npm is missing: GraphiQL stays unavailable (make tools installs Node.js)"; fi

# Apollo's composition, gateway, server and subgraph for the federation proof (tests/federation).
federation: node $(FEDERATION_MODULES)
$(FEDERATION_MODULES): tests/federation/package-lock.json
	cd tests/federation && APOLLO_TELEMETRY_DISABLED=1 $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

node:
	@command -v node >/dev/null 2>&1 && command -v $(NPM) >/dev/null 2>&1 || { $(APT_INSTALL) nodejs npm; }

# Debian's Chromium for the GraphiQL browser test (driven by the playwright package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(APT_INSTALL) chromium; }

# promtool (Debian package `prometheus`) checks and unit-tests the Prometheus rules; Node.js,
# the npm packages and Chromium serve the federation and GraphiQL tests.
tools: node chromium federation
	sh deploy/install-promtool.sh
	$(MAKE) --no-print-directory graphiql

test: lint tools
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The long reliability run (about 30 minutes): the fuzzers with many more examples, the
# hostile-input suite and a 10-minute soak; the figures are written to docs/reliability.md.
RELIABILITY_EXAMPLES ?= 100
SOAK_SECONDS ?= 600
SOAK_RATE ?= 20

.PHONY: reliability
reliability: $(STAMP)
	@figures=$$(mktemp) && \
	INTEGRA_RELIABILITY_FIGURES=$$figures INTEGRA_FUZZ_EXAMPLES=$(RELIABILITY_EXAMPLES) \
		$(VENV)/bin/pytest -q tests/fuzz tests/e2e/test_hostile_input.py && \
	INTEGRA_RELIABILITY_FIGURES=$$figures INTEGRA_SOAK_SECONDS=$(SOAK_SECONDS) \
		INTEGRA_SOAK_RATE=$(SOAK_RATE) $(VENV)/bin/pytest -q tests/reliability && \
	$(VENV)/bin/python -m reliability.report $$figures docs/reliability.md; \
	status=$$?; rm -f $$figures; exit $$status
