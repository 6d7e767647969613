# The two commands: `make run` (the whole system on this machine) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test install install-dev services lint typecheck pytest bench docs clean web

run: install
	bash scripts/services.sh --install-only
	$(MAKE) web
	$(VENV)/bin/seniorsafe up

web: web/dist/index.html

web/dist/index.html: web/package.json web/package-lock.json $(shell find web/src -type f 2>/dev/null)
	cd web && npm ci --no-audit --no-fund && npm run build

test: install-dev services lint typecheck pytest

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q -e '.[embedded]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q -e '.[dev,embedded]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

services:
	bash scripts/services.sh

lint: install-dev
	$(VENV)/bin/ruff check src tests bench

typecheck: install-dev
	$(VENV)/bin/mypy

pytest: install-dev
	$(VENV)/bin/pytest -q

bench: install-dev services
	$(PY) bench/api.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

docs: install-dev
	$(PY) scripts/update_docs.py
