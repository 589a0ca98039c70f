# Two entry points that do all set-up on a fresh machine with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/arsim run scenarios/baseline.yaml --jobs 2

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) results/baseline
