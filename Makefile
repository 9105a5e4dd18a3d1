# Two commands do all the set-up: `make demo` runs the main job, `make test` runs the tests.
# Both create or update .venv from pyproject.toml (only when it changed) and install the system
# packages (PostGIS, gdal-bin, chromium) with apt when they are missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system demo test lint

setup: $(STAMP) system

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

system:
	@scripts/ensure-system.sh

demo: setup
	$(BIN)/slickwatch demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
