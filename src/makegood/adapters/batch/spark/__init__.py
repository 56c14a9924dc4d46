"""The Spark engine: the batch plan that DuckDB runs, run by Apache Spark (docs/spark.md).

* :mod:`.session`: the session, settings that fit the machine, a quiet log, one-line failures;
* :mod:`.inputs`: the subscriptions and sales as views, checked as the reference checks them;
* :mod:`.plan`: the compiled plan's SQL transpiled to Spark SQL, money priced per distinct key;
* :mod:`.output`: the ledger, sorted and streamed to the file, and its summary;
* :mod:`.engine`: :class:`SparkEngine`, which runs the four.
"""

from makegood.adapters.batch.spark.engine import SparkEngine
from makegood.adapters.batch.spark.inputs import RemoteSource, remote_source

__all__ = ["RemoteSource", "SparkEngine", "remote_source"]
