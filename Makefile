# The two commands of the README. Both work on a fresh machine with only Python 3.11+ and make:
# the first run creates .venv and installs the project; later runs reuse it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck chat clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/paychat demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

chat: $(STAMP)
	$(BIN)/paychat chat

clean:
	rm -rf $(VENV) .paychat .pytest_cache .mypy_cache .ruff_cache
