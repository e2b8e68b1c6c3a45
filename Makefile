# aks-hours: `make run` starts the app on its local defaults; `make test` runs the whole suite.
# Both set everything up first (a Python venv in .venv, Azurite in node_modules).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "aks-hours needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The app on its local defaults: Azurite and the AKS emulator started for you, the sample schedules
# loaded, one tick run at once (so the demo cluster matches the schedules), then the API and an
# in-process timer served on http://127.0.0.1:$(PORT) (`make run PORT=8080`). While it runs, commands in
# this checkout (`python -m scaling override list`) read its settings from .run/local.settings.json.
run: setup
	$(PY) -m scaling serve --tick-now --port $(PORT)

# Lint, format, types and the layer rules (docs/architecture.md); `make test` runs it first.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# pytest exits 5 when it collects no tests; make fails on every non-zero exit, so that cannot pass.
test: lint
	$(PY) -m pytest

bench: setup
	$(PY) -m bench.plan_bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
