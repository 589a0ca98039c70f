# Two entry points that do all set-up on a fresh machine with only Python >= 3.11 and make:
#   make demo   runs the main job on the shipped baseline
#   make test   lint, then the whole test suite (what CI runs)
#   make check  lint, then the fast tests only (no tests marked slow), for day-to-day work
#   make lab    installs JupyterLab (the notebooks extra) and starts it on notebooks/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-notebooks
# Jupyter refuses to start as root unless told; containers often run as root.
LAB_OPTIONS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: demo test check lint install lab clean

# The install compiles the simulation engine (setup.py: arsim.sim.ENGINE_MODULES), so an edit in sim/ installs again.
$(STAMP): pyproject.toml setup.py $(wildcard src/arsim/sim/*.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster,postgres]"
	@$(BIN)/arsim --version  # says whether the engine was compiled (pip --quiet hides the build's warning)
	touch $(STAMP)

install: $(STAMP)

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster,notebooks]"
	touch $(LAB_STAMP)

# ARSIM_SCENARIOS tells the notebooks where the shipped scenarios are (arsim.shipped_scenario).
lab: $(LAB_STAMP)
	ARSIM_SCENARIOS="$(CURDIR)/scenarios" $(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_OPTIONS)

demo: $(STAMP)
	$(BIN)/arsim run scenarios/baseline.yaml --jobs 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks setup.py

test: lint
	$(BIN)/python -m pytest

check: lint
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) results/baseline build src/*.so src/arsim/sim/*.so src/arsim/sim/engine_build.json
