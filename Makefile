# Quick start: `make run` (set up + mine alphas on the bundled data), `make test` (set up + all checks).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest bench demo browser postgres clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $(STAMP)

$(DEVSTAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev,numerai,dask,postgres]'
	touch $(STAMP) $(DEVSTAMP)

venv: $(STAMP)

# The main job: mine alphas on the bundled S&P 500 sample, print the best, write the HTML report.
run: $(STAMP)
	$(BIN)/alphamine run --sample

demo: $(STAMP)
	$(BIN)/alphamine demo

# The report tests open the HTML in Debian's headless Chromium; install it when we can (root + apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the report browser tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      || echo "warning: could not install chromium; the browser tests will skip"; \
	  else echo "note: chromium not installed (needs root + apt); the report browser tests will skip"; fi; }

# The store tests also run on PostgreSQL: they start a throw-away server on loopback from Debian's
# postgresql package themselves (tests/store/postgres_support.py; docs/postgres.md). Install the package
# when we can (root + apt); otherwise those tests skip with the reason.
postgres:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian postgresql for the store's PostgreSQL tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
	      || echo "warning: could not install postgresql; the PostgreSQL tests will skip"; \
	  else echo "note: PostgreSQL server not installed (needs root + apt); the PostgreSQL tests will skip"; fi; fi

lint: $(DEVSTAMP)
	$(BIN)/ruff check src tests

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

pytest: $(DEVSTAMP)
	$(BIN)/python -m pytest -q

test: $(DEVSTAMP) browser postgres
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/alphamine bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .numba_cache
