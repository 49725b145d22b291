# Set-up and everyday commands. `make seeds` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup seeds test lint bench browser clean-reports

# The virtualenv with mtcheck and its pinned dependencies (torch 2.13.0 CPU build comes from this
# machine's disk; everything else from PyPI).
$(BIN)/mtcheck: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,ray,datatrove]'
	touch $@

setup: $(BIN)/mtcheck

# The main job: check the sample articles with the default model (installed on first use) and write
# reports/index.html, one JSON + HTML report per article and reports/summary.jsonl.
seeds: setup
	$(BIN)/mtcheck check seeds/ --out reports/

# Debian's Chromium for the browser tests (no browser download at run time).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(BIN)/mtcheck models install smollm2-135m
	$(BIN)/mtcheck models install minilm-l6
	$(BIN)/mtcheck models install quire-gec
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check mtcheck tests bench
	$(BIN)/ruff format --check mtcheck tests bench

bench: setup
	$(BIN)/python bench/speed.py

clean-reports:
	find reports -mindepth 1 ! -name .gitkeep -delete
