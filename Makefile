# Everything a user or CI runs. `make demo` and `make test` work from a fresh clone: they create .venv,
# install the provider with the versions in constraints.txt, and run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: venv system-deps test compat-test lint demo demo-insights system-test bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,emulator]'
	touch $@

system-deps:
	bash scripts/system-deps.sh

## Runs the whole test suite: unit, integration (emulator, bridge, PostgreSQL over loopback), e2e DAG runs and
## the browser tests (headless Debian Chromium against a real airflow api-server).
test: venv system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The compatibility run on the lowest supported Airflow (3.1.8, in .venv-compat, without constraints.txt):
## unit tests, the example DAGs' DagBag import, and the pipeline DAG against the emulator.
compat-test:
	bash scripts/compat-test.sh $(PYTEST_ARGS)

## Offline demo: emulator + bridge on free loopback ports, the example pipeline DAG, results under .demo/results.
demo: venv
	bash scripts/demo.sh

## The same offline setup running mavi_video_insights: split, speech, scenes and a VLM question per segment, a
## summary, and a report (JSON + Markdown with a contact sheet) under .demo/results.
demo-insights: venv
	MAVI_DEMO_DAG=mavi_video_insights bash scripts/demo.sh

## The docker-compose topology run natively: PostgreSQL, Redis, Airflow (CeleryExecutor) as separate processes,
## the bridge and the emulator; the pipeline DAG through the REST API and a two-day backfill. Logs: .system-test/.
system-test: venv system-deps
	bash scripts/system-test.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-compat* .demo .system-test build *.egg-info
