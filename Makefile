# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test system-deps benchmarks plugin peers-venv clean

## Install the engine and its models (PyTorch, CPU) in a virtual environment and run the demo
## on built-in defaults: the default model beside Lee.
demo: $(VENV)/.installed
	$(BIN)/despeckle demo demo_output

## Install what the tests need (OTB, QGIS, test extras) and run the whole suite.
test: system-deps $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

system-deps:
	scripts/install-system-deps.sh

## Run the benchmark suites; results land in benchmarks/results/.
benchmarks: system-deps $(VENV)/.installed-test
	$(BIN)/python -m benchmarks all

## Build the QGIS plugin archive (dist/despeckle-qgis-<version>.zip): Plugins > Install from ZIP.
## Its method list (shown while QGIS has no engine) is refreshed from this engine first.
plugin: $(VENV)/.installed
	$(BIN)/python scripts/build_plugin.py --refresh-contract

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[models]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[test,models]"
	touch $@

clean:
	rm -rf $(VENV) demo_output .pytest_cache .hypothesis *.egg-info

## The published peers (MERLIN, SAR2SAR from PyPI's deepdespeckling) in their own environment,
## for `python -m benchmarks peers`. Debian's Python, for GDAL's bindings (python3-gdal).
peers-venv:
	/usr/bin/python3 -m venv --system-site-packages .cache/peers-venv
	.cache/peers-venv/bin/python -m pip install -q torch==2.13.0 deepdespeckling
