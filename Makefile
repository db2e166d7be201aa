# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck demo worker api bench chaos histories clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole OMS in the foreground on its embedded defaults (Ctrl-C stops it).
run: $(STAMP)
	OMS_SIMULATE=$${OMS_SIMULATE:-1} $(BIN)/oms dev

## Run the whole test suite (PostgreSQL tests use OMS_TEST_POSTGRES_URL).
test: $(STAMP) chromium
	$(BIN)/pytest -q -n 2 --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Write 90 days of generated order history (for the reports; once), then place a handful
## of realistic orders against the running stack.
demo: $(STAMP)
	$(BIN)/oms demo --history
	$(BIN)/oms demo

## Debian's chromium, which the report page's browser test drives headless; installed with
## apt-get (as root, or through sudo) when missing. Fails clearly when it cannot be installed.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium is missing: installing Debian's chromium package for the browser test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	} || { echo "could not install chromium: run 'apt-get install chromium' as root" >&2; exit 1; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium is still not on PATH" >&2; exit 1; }

## Benchmark the order pipeline against the bare-Temporal floor on its own stack (docs/benchmark.md).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/oms bench

## Fault suite at full size: every scenario's figures, PASS/FAIL, non-zero exit on a FAIL (docs/chaos.md).
## The database scenarios need PostgreSQL; each makes and drops a database of its own there.
OMS_CHAOS_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
chaos: $(STAMP)
	OMS_CHAOS_POSTGRES_URL=$(OMS_CHAOS_POSTGRES_URL) $(BIN)/oms chaos $(CHAOS_ARGS)

clean:
	rm -rf var/

## Re-record the workflow histories the replay tests check (after an intentional change).
## SUFFIX=name saves <history>_<name>.json beside the old ones, which keep proving old runs replay.
histories: $(STAMP)
	$(BIN)/python tests/histories/record.py $(if $(SUFFIX),--suffix $(SUFFIX))
