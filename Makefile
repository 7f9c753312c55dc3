# Two commands on a fresh machine: `make run` (the app) and `make test` (the tests).
# Both create .venv and install what they need first. pip runs with --retries 0 so the
# CPU-torch index named in requirements.txt, if it cannot be reached, costs nothing here
# (the README's Deploy section explains the choice).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --retries 0 --disable-pip-version-check -q
PORT ?= 8501
# axe-core (npm) for the browser accessibility tests, pinned by its package-lock.json.
AXE := tests/e2e/axe

.PHONY: run test lint bench clean

$(VENV)/.app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.app requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

$(AXE)/node_modules/.installed: $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --loglevel error
	touch $@

run: $(VENV)/.app
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: $(VENV)/.dev $(AXE)/node_modules/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

bench: $(VENV)/.dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(AXE)/node_modules
