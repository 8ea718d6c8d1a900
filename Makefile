# Two commands on a fresh machine with Python 3.11 and make: `make run`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Tests run in parallel; each xdist worker has its own database, Redis db and sandbox.
TEST_WORKERS ?= 2
# The studio's own processes: the sandbox only when no real API key is set.
PROCESSES := web worker beat $(if $(VIDEOGEN_API_KEY),,sandbox)

.PHONY: install run migrate test test-faults lint clean bench bench-smoke

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

# Every benchmark under bench/ (bench/_*.py are their shared parts): each one's
# full size with `make bench`, a tiny size with `make bench-smoke` (CI runs it, so
# that none rots unnoticed). A loop over the files: a new benchmark is picked up.
# Every one runs even when another fails; the target fails if any did.
define run_benches
	@failed=""; for bench in bench/[!_]*.py; do \
	  echo "== $$bench $(1)"; started=$$(date +%s); \
	  $(BIN)/python $$bench $(1) || failed="$$failed $$bench"; \
	  echo "== $$bench: $$(( $$(date +%s) - started )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "benchmarks failed:$$failed" >&2; exit 1; fi
endef

bench: install
	$(call run_benches,)

bench-smoke: install
	$(call run_benches,--smoke)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf var/ test-results/
