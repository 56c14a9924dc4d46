"""The Spark engine: the compiled plan run by Spark, for data bigger than one machine.

One run: the inputs are read and checked (:mod:`.inputs`); the policies are compiled into the
one batch plan (:func:`makegood.adapters.batch.plan.compile_policy`, shared with DuckDB, in its
Spark dialect) and its SQL runs as Spark SQL over a join of the subscriptions with the small windows table
(:mod:`.plan`); money is priced per distinct key on the driver; the ledger is sorted and
streamed into the file (:mod:`.output`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from makegood.adapters.batch.plan import SPARK, compile_policy
from makegood.adapters.batch.spark import output
from makegood.adapters.batch.spark.inputs import Inputs, Source
from makegood.adapters.batch.spark.plan import Awards, pairs_sql, policy_awards, windows_frame
from makegood.adapters.batch.spark.sales import register_sales
from makegood.adapters.batch.spark.session import (
    failure,
    settings,
    shuffle_partitions,
    spark_session,
)
from makegood.adapters.ledger import Progress, RunResult, ledger_format
from makegood.domain.compensation import check_policies
from makegood.domain.errors import MakegoodError
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.rules import Calendars

STEPS = 4


class SparkEngine:
    """Batch compensation on Apache Spark: ``local[2]`` on one machine, a cluster URL to scale out.

    ``conf`` is passed to Spark verbatim (``--spark-conf KEY=VALUE``), e.g.
    ``{"spark.executor.memory": "8g"}``; ``verbose`` shows Spark's own log in the terminal.
    """

    name = "spark"

    def __init__(self, master: str = "local[2]", *, conf: Mapping[str, str] | None = None,
                 verbose: bool = False, **options: str) -> None:
        self.master = master
        self.conf = {**dict(conf or {}), **options}
        self.verbose = verbose

    def session(self) -> SparkSession:
        return spark_session(self.master, self.conf, verbose=self.verbose)

    @property
    def local(self) -> bool:
        return self.master.startswith("local")

    def run(self, *, incident: Incident, policies: Sequence[Policy], source: Source,
            calendars: Calendars, progress: Progress | None = None) -> RunResult:
        def finish(run: _Run, ledger: DataFrame) -> RunResult:
            return RunResult(ledger=output.to_arrow(ledger), **run.counts)

        result: RunResult = self._guarded(source, lambda: self._run(
            incident, policies, source, calendars, progress, finish))
        return result

    def run_to_file(self, *, incident: Incident, policies: Sequence[Policy], source: Source,
                    calendars: Calendars, out: Path, fmt: str | None = None,
                    progress: Progress | None = None) -> dict[str, Any]:
        """Compute and write the ledger to ``out`` without holding it on the driver; the summary."""
        def finish(run: _Run, ledger: DataFrame) -> dict[str, Any]:
            summary: dict[str, Any] = {}
            kind = ledger_format(out, fmt)
            output.write(ledger, out, kind, local=self.local,
                         before_rename=lambda done: summary.update(output.summary_of_file(done, kind)))
            return {**run.counts, **summary}

        summary: dict[str, Any] = self._guarded(source, lambda: self._run(
            incident, policies, source, calendars, progress, finish))
        return summary

    def _guarded(self, source: Source, work: Any) -> Any:
        from py4j.protocol import Py4JError  # type: ignore[import-untyped]
        from pyspark.errors import PySparkException

        try:
            return work()
        except MakegoodError:
            raise
        except (PySparkException, Py4JError) as exc:
            raise failure(exc, master=self.master, conf=settings(self.master, self.conf),
                          label=source.label) from None

    def _run(self, incident: Incident, policies: Sequence[Policy], source: Source,
             calendars: Calendars, progress: Progress | None, finish: Any) -> Any:
        spark = self.session()
        if self.local and "spark.sql.shuffle.partitions" not in self.conf:
            files = [*source.subscriptions, *source.sales]
            size = sum(f.stat().st_size for f in files if isinstance(f, Path) and f.is_file())
            spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions(size, self.master)))
        run = _Run(spark, source)
        try:
            return finish(run, run.compute(incident, policies, calendars, progress))
        finally:
            run.release()


class _Run:
    def __init__(self, spark: SparkSession, source: Source) -> None:
        self.spark = spark
        self.inputs = Inputs(spark, source)
        self.awards = Awards()
        self.counts: dict[str, Any] = {}

    def release(self) -> None:
        self.inputs.release()
        for df in self.awards.cached:
            df.unpersist()

    def compute(self, incident: Incident, policies: Sequence[Policy], calendars: Calendars,
                progress: Progress | None) -> DataFrame:
        def tick(done: int) -> None:
            if progress:
                progress(done, STEPS)

        tick(0)
        checked = self.inputs.read()
        register_sales(self.inputs)
        check_policies(policies, incident, set(checked.services))
        tick(1)
        compiled = [compile_policy(policy, incident, calendars, SPARK) for policy in policies]
        windows_frame(self.spark, compiled).createOrReplaceTempView("rw")
        pairs = self.spark.sql(pairs_sql(compiled)).localCheckpoint(eager=True)
        self.inputs.cached.append(pairs)
        pairs.createOrReplaceTempView("pairs")
        affected = self.spark.sql("SELECT count(DISTINCT aid) AS n FROM pairs WHERE is_first"
                                  ).collect()[0]["n"]
        tick(2)
        parts = [policy_awards(self.spark, cp, pi, self.awards) for pi, cp in enumerate(compiled)]
        awards = parts[0]
        for part in parts[1:]:
            awards = awards.unionByName(part)
        self.counts = {"accounts": checked.accounts, "subscriptions": checked.subscriptions,
                       "accounts_affected": int(affected or 0),
                       "fund_factors": dict(self.awards.fund_factors)}
        tick(3)
        return output.ledger_frame(self.spark, awards, self.awards.templates)
