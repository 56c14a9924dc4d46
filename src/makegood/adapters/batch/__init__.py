"""Batch engines: the policy as queries over tables (DuckDB embedded, Apache Spark to scale out).

Each engine implements :class:`makegood.services.ports.Engine` and must produce exactly the
ledger rows of the reference engine (the domain core, :mod:`.reference`); the parity suite
(``tests/parity/``) checks it. The engines run one plan compiled from each policy (:mod:`.plan`);
DuckDB's is the package :mod:`.duckdb`. :class:`BatchEngines` is the engine choice a deployment
offers (the ``Engines`` port): an engine by name, and the accounts input as that engine reads it.
"""

from __future__ import annotations

from typing import Any

from makegood.adapters.tables import resolve
from makegood.domain.errors import DataError, InputError

ENGINES = ("reference", "duckdb", "spark")


def get_engine(name: str, **options: Any) -> Any:
    """The engine called ``name``; heavy engines are imported only when asked for."""
    if name == "reference":
        from makegood.adapters.batch.reference import ReferenceEngine

        return ReferenceEngine()
    if name == "duckdb":
        from makegood.adapters.batch.duckdb import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from makegood.adapters.batch.spark_engine import SparkEngine

        return SparkEngine(**options)
    raise InputError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}", field="--engine")


def is_url(path: str) -> bool:
    return "://" in path


class BatchEngines:
    """The engines of this installation, each with its options (from the settings)."""

    names: tuple[str, ...] = ENGINES

    def __init__(self, *, spark_master: str = "local[2]", duckdb_memory_limit: str | None = None,
                 duckdb_threads: int | None = None) -> None:
        self.options: dict[str, dict[str, Any]] = {
            "reference": {},
            "duckdb": {k: v for k, v in (("memory_limit", duckdb_memory_limit),
                                         ("threads", duckdb_threads)) if v is not None},
            "spark": {"master": spark_master},
        }

    def check(self, name: str) -> None:
        if name not in self.names:
            raise InputError(f"unknown engine {name!r}; use one of {', '.join(self.names)}",
                             field="--engine")

    def get(self, name: str) -> Any:
        self.check(name)
        return get_engine(name, **self.options[name])

    def source(self, name: str, accounts: str, sales: str | None) -> Any:
        """The accounts input for engine ``name``: local files (a file, a directory of parts, a
        glob or a scenario directory), or for Spark object-storage URLs (``s3a://``, ``gs://``,
        ``hdfs://``; a URL ending in ``/`` is a scenario directory)."""
        self.check(name)
        if not is_url(accounts):
            return resolve(accounts, sales)
        if name != "spark":
            raise DataError(f"{accounts} is a URL; object storage is read by the Spark engine: "
                            "add --engine spark", field="--accounts")
        from makegood.adapters.batch.spark_engine import remote_source

        fmt = "csv" if accounts.lower().endswith(".csv") else "parquet"
        return remote_source(accounts, sales, scenario=accounts.endswith("/"), fmt=fmt)

