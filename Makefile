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

.PHONY: up test lint tools seed schema clean graphiql federation node chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

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
