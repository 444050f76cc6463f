# Two commands do everything on a fresh machine: `make run` and `make test`.
# Each creates the virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: $(VENV)/.installed  ## run the default area's three scenarios
	$(BIN)/ucsim run

test: lint  ## lint, type-check, check the layers, then every test (fast and slow tiers)
	$(BIN)/python -m pytest -m "slow or not slow"

test-fast: $(VENV)/.installed  ## the fast tier only (what plain `pytest` runs)
	$(BIN)/python -m pytest

lint: $(VENV)/.installed  ## ruff (lint and format), mypy, the import layers, no generated files
	$(BIN)/ruff check sim tests benchmarks docs/examples
	$(BIN)/ruff format --check sim tests benchmarks docs/examples
	$(BIN)/mypy sim
	$(BIN)/lint-imports

bench: $(VENV)/.installed  ## performance benchmarks (not part of the tests)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
