# The two commands of the README. Both work on a fresh machine with only Python 3.11+ and make:
# the first run creates .venv and installs the project; later runs reuse it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck chat clean

# The first run installs quietly, before the demo: pip's warnings (an index it skips, setuptools'
# note on editable installs) would land in the middle of the demo's output. -qq keeps pip to its
# errors, which still show in full, and a failed install stops here (no stamp: the next run tries
# again).
PIP := $(BIN)/python -m pip install -qq --disable-pip-version-check

$(STAMP): pyproject.toml
	@echo "Installing PayChat into $(VENV) (first run only)..."
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade pip
	@$(PIP) -e '.[dev]'
	@touch $(STAMP)
	@echo "Installed."

demo: $(STAMP)
	@$(BIN)/paychat demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

chat: $(STAMP)
	@$(BIN)/paychat chat

clean:
	rm -rf $(VENV) .paychat .pytest_cache .mypy_cache .ruff_cache
