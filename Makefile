# Two entry points that do all set-up on a fresh machine with only Python >= 3.11 and make:
#   make demo   runs the main job on the shipped baseline
#   make test   lint, then the whole test suite (what CI runs)
#   make check  lint, then the fast tests only (no tests marked slow), for day-to-day work
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster,postgres]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/arsim run scenarios/baseline.yaml --jobs 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest

check: lint
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) results/baseline
