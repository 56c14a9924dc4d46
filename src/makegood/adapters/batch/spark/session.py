"""The Spark session: settings that fit the machine, a quiet log, and failures in one line.

With a ``local`` master the driver is the whole cluster, so its memory is the engine's memory:
it is sized from the RAM available when the session starts (half of it, at least 1 GiB, at most
:data:`LOCAL_MAX_GIB`), shuffles use enough partitions that each task's sort or aggregation fits
and spills to ``spark.local.dir`` instead of failing, and the driver binds to 127.0.0.1 with the
UI off. On a cluster (``spark://``, ``yarn``, ``k8s://``) memory and partitions are the
cluster's business; ``conf`` (``--spark-conf KEY=VALUE``) overrides any setting either way.

Spark's own log (WARN lines, stack traces, the console progress bar) goes to a file, not to the
terminal, unless ``verbose``: the JVM's standard output and error are redirected there too. A
failure is reported in one line (:func:`failure`), an out-of-memory one naming the setting to
change.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from makegood.domain.errors import DataError, MakegoodError

GIB = 1 << 30
LOCAL_MAX_GIB = 16
LOCAL_SHUFFLE_PARTITIONS = 32  # until the input's size is known (see shuffle_partitions)
BYTES_PER_PARTITION = 3 << 20  # of compressed Parquet input: about 300,000 rows a task


class SparkResourceError(MakegoodError):
    """Spark ran out of memory; the message names the setting to raise (CLI exit 1)."""


LOG4J2 = """\
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = out
appender.out.type = {appender}
appender.out.name = out
{target}
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.dag.name = org.apache.spark.scheduler.DAGScheduler
logger.dag.level = error
"""

_LOCK = threading.Lock()
_SESSION: dict[str, Any] = {}


def log_path() -> Path:
    """Where Spark's log goes when it is kept out of the terminal (one file per process)."""
    return Path(tempfile.gettempdir()) / f"makegood-spark-{os.getpid()}.log"


def _log4j_file(verbose: bool) -> str:
    if verbose:
        text = LOG4J2.format(level="warn", appender="Console", target="appender.out.target = SYSTEM_ERR")
    else:
        text = LOG4J2.format(level="warn", appender="File",
                             target=f"appender.out.fileName = {log_path()}")
    path = Path(tempfile.gettempdir()) / f"makegood-spark-log4j2-{os.getpid()}-{int(verbose)}.properties"
    path.write_text(text, encoding="utf-8")
    return str(path)


def available_memory() -> int:
    """Bytes of RAM available now (``MemAvailable``, within a cgroup limit if there is one)."""
    available = 4 * GIB
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii").strip())
        if limit.isdigit():
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available


def local_driver_memory(available: int | None = None) -> str:
    """``spark.driver.memory`` for a local master: half the available RAM, 1 to 16 GiB."""
    free = available_memory() if available is None else available
    gib = max(1, min(LOCAL_MAX_GIB, free // 2 // GIB))
    return f"{gib}g"


def settings(master: str, options: Mapping[str, str] | None = None, *,
             verbose: bool = False, available: int | None = None) -> dict[str, str]:
    """Every Spark setting the engine starts a session with (``options`` win)."""
    conf = {
        "spark.app.name": "makegood",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_log4j_file(verbose)}",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "true" if verbose else "false",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.debug.maxToStringFields": "1000",
        "spark.sql.adaptive.enabled": "true",
    }
    if master.startswith("local"):
        conf.update({
            "spark.driver.memory": local_driver_memory(available),
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": str(LOCAL_SHUFFLE_PARTITIONS),
            "spark.default.parallelism": str(_cores(master)),
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        })
    conf.update({k: str(v) for k, v in (options or {}).items()})
    return conf


def shuffle_partitions(input_bytes: int, master: str) -> int:
    """Shuffle partitions for a local run over ``input_bytes`` of files: one task per few MB of
    input (each task's sort then fits in memory), at least one per core, at most 128; a small
    input is not cut into dozens of tiny tasks that each cost a scheduling round."""
    return max(_cores(master), min(128, -(-input_bytes // BYTES_PER_PARTITION)))


def _cores(master: str) -> int:
    found = re.fullmatch(r"local\[(\d+)(?:,\d+)?\]", master)
    return int(found.group(1)) if found else (os.cpu_count() or 2)


def spark_session(master: str = "local[2]", options: Mapping[str, str] | None = None, *,
                  verbose: bool = False) -> SparkSession:
    """The process's one Spark session for this master and configuration (created once).

    Settings read when the JVM starts (the driver's memory, its Java options) hold for the
    life of the process: a later session with other values of those keeps the first ones.
    """
    conf = settings(master, options, verbose=verbose)
    key = repr((master, sorted((k, v) for k, v in conf.items() if k != "spark.driver.memory")))
    with _LOCK:
        current = _SESSION.get("session")
        if current is not None and _SESSION.get("key") == key:
            return cast(SparkSession, current)
        if current is not None:
            current.stop()
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        spark_conf = SparkConf().setMaster(master).setAll(list(conf.items()))
        with warnings.catch_warnings():
            # PySpark warns about the pandas version it finds; the engine does not use pandas.
            warnings.filterwarnings("ignore", category=FutureWarning)
            if SparkContext._gateway is None:
                _launch(spark_conf, verbose)
            context = SparkContext(conf=spark_conf)
            session = SparkSession(context)
        context.setLogLevel("WARN")
        _SESSION.update(session=session, key=key)
        return session


def _launch(conf: SparkConf, verbose: bool) -> None:
    """Start the driver JVM, its standard output and error in the log file unless ``verbose``."""
    from pyspark.java_gateway import launch_gateway

    popen: dict[str, Any] = {}
    if not verbose:
        log = log_path().open("ab")  # kept open by the JVM for its lifetime
        popen = {"stdout": log, "stderr": log}
    gateway = launch_gateway(conf, popen_kwargs=popen)  # type: ignore[no-untyped-call]
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm


OUT_OF_MEMORY = ("SparkOutOfMemoryError", "UNABLE_TO_ACQUIRE_MEMORY", "java.lang.OutOfMemoryError",
                 "Java heap space", "GC overhead limit exceeded")


def failure(exc: BaseException, *, master: str, conf: Mapping[str, str], label: str | None
            ) -> MakegoodError:
    """A Spark or JVM failure as one line: out of memory names the setting to raise."""
    text = str(exc)
    # A JVM that died of it says so only in its log (the gateway just loses the connection).
    if any(marker in text + _log_tail() for marker in OUT_OF_MEMORY):
        if master.startswith("local"):
            now = conf.get("spark.driver.memory", "1g")
            advice = (f"raise spark.driver.memory (now {now}), e.g. --spark-conf "
                      "spark.driver.memory=12g, or free memory on this machine")
        else:
            now = conf.get("spark.executor.memory", "the cluster's default")
            advice = (f"raise spark.executor.memory (now {now}) or spark.sql.shuffle.partitions, "
                      "e.g. --spark-conf spark.executor.memory=8g")
        return SparkResourceError(f"Spark ran out of memory: {advice} "
                                  f"(Spark's log: {_log_hint()})")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    return DataError(f"Spark could not run the job: {first} (Spark's log: {_log_hint()})",
                     file=label or None)


def _log_tail(size: int = 1 << 16) -> str:
    """The end of this process's Spark log (empty if there is none)."""
    try:
        with log_path().open("rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _log_hint() -> str:
    return "the terminal, --verbose" if not log_path().exists() else str(log_path())
