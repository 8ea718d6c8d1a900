# Two commands on a fresh machine with Python 3.11 and make: `make run`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Tests run in parallel; each xdist worker has its own database, Redis db and sandbox.
TEST_WORKERS ?= 2
# The studio's own processes: the sandbox only when no real API key is set.
PROCESSES := web worker beat $(if $(VIDEOGEN_API_KEY),,sandbox)

.PHONY: install run migrate test test-faults lint clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/honcho --procfile Procfile start $(PROCESSES)

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not faults" $(PYTEST_ARGS)

test-faults: install
	$(BIN)/python -m pytest -m faults $(PYTEST_ARGS)

# Gallery pages at 1,000 and 100,000 results (SQLite under var/bench/, or DATABASE_URL).
# Then the pipeline's: card latency in Chromium, API calls per generation,
# in-flight executions per worker (vs the SDK), ingest memory, the no-change update.
bench: install
	$(BIN)/python bench/gallery_bench.py
	$(BIN)/python bench/card_latency.py
	$(BIN)/python bench/capacity.py
	$(BIN)/python bench/api_calls.py
	$(BIN)/python bench/inflight.py
	$(BIN)/python bench/ingest_memory.py
	$(BIN)/python bench/updates_request.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf var/ test-results/
