# Every target is self-contained on a fresh machine: it makes .venv when missing and
# installs the project with its dev extra first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/seed_example.py

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/lit -sv tests/filecheck
	$(BIN)/ruff check .

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/pyright

bench: $(STAMP)
	$(BIN)/python bench/run_benchmarks.py

clean:
	rm -rf $(VENV) build *.egg-info
