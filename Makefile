# Kuaiban — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export KUAIBAN_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test install test-deps lint typecheck test-sqlite test-postgres messages bench clean

$(BIN)/kuaiban: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@# opencc-python-reimplemented (before 2026-12) and opencc both install the module `opencc`:
	@# in an older venv, remove the former and put the official binding's files back.
	@if $(BIN)/pip show --quiet opencc-python-reimplemented 2>/dev/null; then \
		$(BIN)/pip uninstall --quiet --yes opencc-python-reimplemented && \
		$(BIN)/pip install --quiet --force-reinstall --no-deps opencc; fi
	@touch $@

install: $(BIN)/kuaiban

$(VENV)/.test-deps: pyproject.toml $(BIN)/kuaiban
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

test-deps: $(VENV)/.test-deps

## Set up everything on SQLite, load the demo county once, and serve on http://$(HOST):$(PORT)
run: install
	$(BIN)/kuaiban migrate --no-input -v 0
	$(BIN)/kuaiban demo --if-empty --background
	@echo "Kuaiban is starting on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(BIN)/kuaiban serve --host $(HOST) --port $(PORT)

## Lint, type-check, and the whole suite on SQLite and on PostgreSQL
test: test-deps lint typecheck test-sqlite test-postgres

lint: test-deps
	$(BIN)/ruff check kuaiban bench
	$(BIN)/ruff format --check kuaiban bench
	$(BIN)/lint-imports --no-cache

typecheck: test-deps
	$(BIN)/mypy kuaiban

test-sqlite: test-deps
	env -u DATABASE_URL $(BIN)/python scripts/run_tests.py sqlite

test-postgres: test-deps
	$(BIN)/python scripts/run_tests.py postgres

messages: install
	@# From inside the package (so the catalogues stay per app), but never writing into it:
	@# the secret key, database and static files go to the data directory, not kuaiban/data/.
	cd kuaiban && KUAIBAN_DATA_DIR="$(abspath $(KUAIBAN_DATA_DIR))" ../$(BIN)/kuaiban makemessages -l zh_Hans -l en --no-obsolete
	cd kuaiban && KUAIBAN_DATA_DIR="$(abspath $(KUAIBAN_DATA_DIR))" ../$(BIN)/kuaiban compilemessages

clean:
	rm -rf $(VENV) build *.egg-info
