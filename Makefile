# Every target is self-contained on a fresh machine: it makes .venv when missing (or when
# an older Python made it) and installs the project with its dev extra first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEEDS_PY311 := import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c '$(NEEDS_PY311)' || { echo "PAKV needs Python 3.11 or newer (xDSL 0.74 does): $(PYTHON) is $$($(PYTHON) -V 2>&1). Try: make PYTHON=python3.11" >&2; exit 2; }
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c '$(NEEDS_PY311)'; then echo "$(VENV) was made by an older Python: rebuilding it"; rm -rf $(VENV); fi
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
	$(BIN)/lint-imports

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/pyright

bench: $(STAMP)
	$(BIN)/python bench/run_benchmarks.py

clean:
	rm -rf $(VENV) build *.egg-info
