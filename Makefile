# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck install clean vendor

# Apache ECharts for the dashboard, fetched once at install time (npm, integrity checked);
# the API serves it from this git-ignored folder and never fetches anything at run time.
ECHARTS := starter/static/vendor/echarts.min.js

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(ECHARTS): scripts/fetch_echarts.sh
	scripts/fetch_echarts.sh $(patsubst %/,%,$(dir $(ECHARTS)))

vendor: $(ECHARTS)

install: $(VENV)/.installed $(ECHARTS)

## Run the service with the embedded default: dev server + Web UI + worker + a demo application.
## Without npm (or the registry) it still runs: the dashboard then shows its tables only.
run: $(VENV)/.installed
	@[ -f $(ECHARTS) ] || $(MAKE) --no-print-directory vendor \
		|| echo "warning: ECharts not fetched: the dashboard shows tables without charts" >&2
	$(BIN)/onething dev

## Run the whole test suite (installs the test extras first), one process per core; a test
## file stays in one process, so a module's time-skipping server is started once.
test: $(VENV)/.installed-test $(ECHARTS) lint typecheck
	$(BIN)/python -m pytest --numprocesses auto --dist loadfile

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy domain workflows activities store onething starter audit bench worker.py

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
