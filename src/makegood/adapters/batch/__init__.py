"""Batch engines: the policy as queries over tables (DuckDB embedded, Apache Spark to scale out).

Each engine implements :class:`makegood.services.compensation.Engine` and must produce exactly
the ledger rows of the reference engine (the domain core); the parity suite (``tests/parity/``)
checks it. The engines run one plan compiled from each policy (:mod:`.plan`); DuckDB's is the
package :mod:`.duckdb`. :data:`ENGINES` is the registry the CLI and the parity suite use.
"""

from __future__ import annotations

from typing import Any

from makegood.domain.errors import InputError

ENGINES = ("reference", "duckdb", "spark")


def get_engine(name: str, **options: Any) -> Any:
    """The engine called ``name``; heavy engines are imported only when asked for."""
    if name == "reference":
        from makegood.services.compensation import ReferenceEngine

        return ReferenceEngine()
    if name == "duckdb":
        from makegood.adapters.batch.duckdb import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from makegood.adapters.batch.spark_engine import SparkEngine

        return SparkEngine(**options)
    raise InputError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}", field="--engine")
