# The two commands of the README. Both work on a fresh machine with only Python 3.11+ and make:
# the first run creates .venv and installs the project; later runs reuse it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck chromium chat clean i18n i18n-new

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

# --dist loadgroup: tests marked with one xdist_group run on one worker, one after another (the
# browser tests and the wall-clock fault drill); every other test is spread as before.
# The Telegram fault drill is timed against the wall clock (kills, outages, 36 orders within
# 70 s): it runs alone after the rest, with the machine to itself, as CI's 2 cores would
# otherwise share it with the browser, PostgreSQL and worker tests.
test: $(STAMP) lint typecheck chromium
	$(BIN)/python -m pytest -n auto --dist loadgroup -m "not alone"
	$(BIN)/python -m pytest -p no:xdist -m alone

# The browser tests of `paychat web` drive Debian's Chromium (Playwright never downloads one):
# installed here when missing (as root, with apt-get); otherwise they skip and say why.
chromium:
	@scripts/ensure-chromium

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

chat: $(STAMP)
	@$(BIN)/paychat chat

# Translations (README, "Languages"): the English in the templates' {% trans %} blocks → the
# catalog template → every language's .po (new ids added, changed ones marked fuzzy for review)
# → the pseudo-locale en_XA; then how complete each language is. The .po files are all git
# keeps: the app compiles them in memory at start-up (bot/catalogs.py).
LOCALES := bot/locale
POT := $(LOCALES)/messages.pot
i18n: $(STAMP)
	@$(BIN)/pybabel -q extract -F babel.cfg -c TRANSLATORS: --project=PayChat --version=0.1 \
		--copyright-holder=PayChat -w 99 -o $(POT) bot/templates
	@$(BIN)/pybabel -q update -i $(POT) -d $(LOCALES) -D messages -w 99 --ignore-pot-creation-date
	@$(BIN)/python -m bot.pseudo
	@for po in $(LOCALES)/*/LC_MESSAGES/messages.po; do \
		lang=$${po#$(LOCALES)/}; lang=$${lang%%/*}; printf '%-6s ' $$lang; \
		$(BIN)/pybabel compile --statistics -l $$lang -i $$po -o /dev/null 2>&1 | head -1; done

# A new language: `make i18n-new NEW=ta` starts bot/locale/ta/LC_MESSAGES/messages.po.
i18n-new: $(STAMP)
	@test -n "$(NEW)" || { echo "usage: make i18n-new NEW=<locale, e.g. ta or es_MX>"; exit 2; }
	@$(BIN)/pybabel init -i $(POT) -d $(LOCALES) -D messages -w 99 -l $(NEW)

clean:
	rm -rf $(VENV) .paychat .pytest_cache .mypy_cache .ruff_cache
