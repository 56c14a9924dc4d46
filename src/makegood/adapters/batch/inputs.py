"""DuckDB's input views under their earlier module name (kept while the CLI imports
``load_account`` from here): :mod:`makegood.adapters.batch.duckdb.inputs`."""

from __future__ import annotations

from makegood.adapters.batch.duckdb.inputs import load_account

__all__ = ["load_account"]
