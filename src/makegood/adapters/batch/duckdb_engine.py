"""The DuckDB engine under its earlier module name (kept while the CLI imports it from here):
:mod:`makegood.adapters.batch.duckdb`."""

from __future__ import annotations

from makegood.adapters.batch.duckdb import DuckDBEngine, Run

__all__ = ["DuckDBEngine", "Run"]
