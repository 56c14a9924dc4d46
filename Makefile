# makegood's front door. `make demo` and `make test` each work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck bench drill clean

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

# The reliability drills, full size (docs/reliability.md); CI runs short versions in `make test`.
drill: $(STAMP)
	$(BIN)/python drills/crash.py --backend postgres --fault server --kills 12
	$(BIN)/python drills/crash.py --backend sqlite --fault server --kills 10
	$(BIN)/python drills/crash.py --backend postgres --fault database --kills 10
	$(BIN)/python drills/fuzz.py --examples 40
	$(BIN)/python drills/batch_faults.py --accounts 2300000 --kills 10
	$(BIN)/pytest -q -n 2 tests/backends/test_authorization_matrix.py tests/backends/test_secrets.py \
		tests/backends/test_backup.py tests/backends/test_api_probe_fixes.py tests/backends/test_ratelimit.py

clean:
	rm -rf $(VENV) build *.egg-info
