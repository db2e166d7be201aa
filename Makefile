# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make run` needs (core + devserver + reports) and what the tests and linters add (dev).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
LOCK := --quiet --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: install run test lint typecheck demo worker api bench chaos histories clean chromium lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Versions pinned by requirements/dev.txt (every extra), so CI installs what was tested.
# Bytecode: pip compiles on one core (--no-compile), then compileall on every core. Python
# would otherwise compile a dependency in every process that imports it wherever
# PYTHONDONTWRITEBYTECODE is set (as on our CI machine): the API took 6 s of CPU to import
# instead of 2.5 s, and every test that starts OMS processes paid it again.
COMPILE := $(BIN)/python -m compileall -q -j 0 $(VENV)/lib
# The OMS's own packages likewise, at install (so `oms bench` and `oms worker` run after it
# have them) and again before the targets that start many processes (sources change):
# without bytecode every worker, API and sandbox process compiled them again, and the
# Temporal workflow sandbox recompiled the workflow modules for every workflow it loaded:
# replaying an order's and its shipment's histories took 120 ms of CPU, 87 ms with
# bytecode; ~50 s of a test run's CPU. compileall skips what is current (~0.2 s then);
# __pycache__ is ignored by git.
SOURCES := oms workflows activities workers starters devtools sandboxes tests
BYTECODE := $(BIN)/python -m compileall -q -j 0 $(SOURCES) > /dev/null

$(RUN_STAMP): pyproject.toml requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile --constraint requirements/dev.txt -e '.[devserver,reports]'
	$(COMPILE) > /dev/null
	$(BYTECODE)
	touch $@

# dev includes devserver and reports, so it satisfies `make run` too.
$(DEV_STAMP): pyproject.toml requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile --constraint requirements/dev.txt -e '.[dev]'
	$(COMPILE) > /dev/null
	$(BYTECODE)
	touch $@ $(RUN_STAMP)

install: $(DEV_STAMP)

## Regenerate the pinned lockfiles in requirements/ from pyproject.toml (docs/deploy.md).
# Needs only pip-tools (not the dev stamp, which installs from these files).
lock: | $(BIN)/python
	$(BIN)/pip install --quiet 'pip-tools>=7.4'
	$(BIN)/pip-compile $(LOCK) --output-file requirements/core.txt pyproject.toml
	$(BIN)/pip-compile $(LOCK) --extra reports --output-file requirements/reports.txt pyproject.toml
	$(BIN)/pip-compile $(LOCK) --extra dev --output-file requirements/dev.txt pyproject.toml
	@# dev pulls the project itself in (temporal-oms[devserver,...]): no pin for it, no path.
	$(BIN)/python -c "import re, pathlib; p = pathlib.Path('requirements/dev.txt'); \
	  p.write_text(re.sub(r'(?m)^temporal-oms @ .*\n(    #.*\n)*', '', p.read_text()))"

## Run the whole OMS in the foreground on its embedded defaults (Ctrl-C stops it).
run: $(RUN_STAMP)
	$(BYTECODE)
	OMS_SIMULATE=$${OMS_SIMULATE:-1} $(BIN)/oms dev

## Run the whole test suite (PostgreSQL tests use OMS_TEST_POSTGRES_URL).
test: $(DEV_STAMP) chromium
	$(BYTECODE)
	$(BIN)/pytest -q -n 3 --dist worksteal --durations=10

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

## Write 90 days of generated order history (for the reports; once), then place a handful
## of realistic orders against the running stack.
demo: $(RUN_STAMP)
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
bench: $(DEV_STAMP)
	$(BYTECODE)
	$(BIN)/oms bench

## Fault suite at full size: every scenario's figures, PASS/FAIL, non-zero exit on a FAIL (docs/chaos.md).
## The database scenarios need PostgreSQL; each makes and drops a database of its own there.
OMS_CHAOS_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
chaos: $(DEV_STAMP)
	$(BYTECODE)
	OMS_CHAOS_POSTGRES_URL=$(OMS_CHAOS_POSTGRES_URL) $(BIN)/oms chaos $(CHAOS_ARGS)

clean:
	rm -rf var/

## Re-record the workflow histories the replay tests check (after an intentional change).
## SUFFIX=name saves <history>_<name>.json beside the old ones, which keep proving old runs replay.
histories: $(DEV_STAMP)
	$(BIN)/python tests/histories/record.py $(if $(SUFFIX),--suffix $(SUFFIX))
