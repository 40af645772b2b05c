# One-command set-up and runs. Every target creates the virtual environment on first use.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
LINT_PATHS := src tests $(wildcard benchmarks)

# kedro-telemetry must never phone home: off for everyone who runs the project.
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
export PYSPARK_PYTHON := $(abspath $(BIN)/python)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser demo test test-cluster lint viz viz-build clean

# --no-compile: each module is byte-compiled when first imported, not all 1.8 GB of the
# environment at install (pip compiles them one by one: 49 s on 2 cores).
$(BIN)/.installed: pyproject.toml constraints.txt
	@bash scripts/check_java.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e ".[dev]"
	@touch $@

setup: $(BIN)/.installed  ## create .venv and install the pinned dependencies

browser:  ## Debian's headless Chromium, for the kedro-viz browser test
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser test..."; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

demo: setup  ## run the whole flow end to end on generated data
	$(BIN)/kedro run --pipelines demo

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# Test processes (pytest-xdist): whole test folders per process, the longest first
# (tests/conftest.py); the small demo run is shared by all of them.
TEST_PROCESSES ?= 2

# The Python environment and Debian's chromium are installed at once: both wait mostly on
# downloads (measured: docs/performance-log.md).
test:  ## lint, format check, the whole test suite with the cluster tests (CI)
	@$(MAKE) --no-print-directory -j2 setup browser
	@$(MAKE) --no-print-directory lint
	$(BIN)/pytest -n $(TEST_PROCESSES) -m "cluster or not cluster" --durations=15

test-cluster: setup  ## only the cluster tests: a local standalone Spark cluster on 127.0.0.1
	$(BIN)/pytest -m cluster tests/cluster

viz: setup  ## browse the pipelines on http://127.0.0.1:4141
	$(BIN)/kedro viz run --host 127.0.0.1 --no-browser

viz-build: setup  ## write the static kedro-viz site to build/
	$(BIN)/kedro viz build --include-previews

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
