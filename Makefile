# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The MXNet MNIST script's own environment (mxnet 1.9.1 needs numpy < 1.24).
include mxnet.mk

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/byohpo demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check byohpo tests benchmarks entry_points
	$(BIN)/ruff format --check byohpo tests benchmarks entry_points

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .venv-mxnet build *.egg-info .pytest_cache .mypy_cache .ruff_cache
