# Two commands do everything on a fresh machine: `make run` and `make test`.
# Each creates the virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: $(VENV)/.installed  ## run the default area's three scenarios
	$(BIN)/ucsim run

test: $(VENV)/.installed  ## lint and run the test suite
	$(BIN)/ruff check sim tests benchmarks docs/examples
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check sim tests benchmarks docs/examples
	$(BIN)/ruff format --check sim tests benchmarks
	$(BIN)/mypy sim

bench: $(VENV)/.installed  ## performance benchmarks (not part of the tests)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
