# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

## Run the service with the embedded default: dev server + Web UI + worker + a demo application.
run: $(VENV)/.installed
	$(BIN)/onething dev

## Run the whole test suite (installs the test extras first).
test: $(VENV)/.installed-test lint typecheck
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy domain workflows activities store onething starter worker.py

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
