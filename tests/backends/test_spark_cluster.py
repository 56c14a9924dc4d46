"""The Spark engine on a real standalone cluster: a master and one worker on loopback.

Both come from the ``pyspark`` package's own distribution (``bin/spark-class``), bound to
127.0.0.1 on free ports, and are stopped after the module. ``makegood compensate --engine
spark --spark-master spark://127.0.0.1:PORT`` must write the DuckDB engine's ledger, byte for
byte. Marked ``spark``: skipped only where there is no Java and ``CI`` is not set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from makegood import policies
from makegood.adapters.scenario import generate

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

MAKEGOOD = str(Path(sys.executable).with_name("makegood"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_env() -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
            "SPARK_NO_DAEMONIZE": "1"}


def spark_class(*args: str, log: Path) -> subprocess.Popen[bytes]:
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**loopback_env(), "SPARK_HOME": str(home)}
    with log.open("wb") as out:
        return subprocess.Popen([str(home / "bin" / "spark-class"), *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as reply:
            return int(json.load(reply).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and one worker on 127.0.0.1; yields the master URL."""
    root = tmp_path_factory.mktemp("cluster")
    port, ui, worker_ui = free_port(), free_port(), free_port()
    master = spark_class("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                         "--port", str(port), "--webui-port", str(ui), log=root / "master.log")
    worker = spark_class("org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                         "--host", "127.0.0.1", "--webui-port", str(worker_ui), "--cores", "2",
                         "--memory", "2g", "--work-dir", str(root / "work"), log=root / "worker.log")
    try:
        deadline = time.monotonic() + 120
        while alive_workers(ui) < 1:
            if master.poll() is not None or worker.poll() is not None or time.monotonic() > deadline:
                logs = "\n".join(p.read_text(errors="replace")[-2000:]
                                 for p in (root / "master.log", root / "worker.log"))
                pytest.fail(f"the standalone cluster did not start:\n{logs}")
            time.sleep(0.5)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in (worker, master):
            process.terminate()
        for process in (worker, master):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cluster-data") / "scenario"
    for _ in generate(out, accounts=400, seed=5):
        pass
    return out


def compensate(scenario: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKEGOOD, "compensate", "--incident", str(scenario / "incident.toml"),
         "--policy", str(policies.path("kakao-2022-paid")),
         "--policy", str(policies.path("kakao-2022-small-business")),
         "--accounts", str(scenario), "--out", str(out), *extra],
        env=loopback_env(), capture_output=True, text=True, timeout=600, check=False)


def test_a_standalone_cluster_writes_the_duckdb_ledger_byte_for_byte(cluster: str, scenario: Path,
                                                                    tmp_path: Path) -> None:
    duckdb_out, spark_out = tmp_path / "duckdb.parquet", tmp_path / "spark.parquet"
    first = compensate(scenario, duckdb_out)
    assert first.returncode == 0, first.stderr
    second = compensate(scenario, spark_out, "--engine", "spark", "--spark-master", cluster,
                        "--spark-conf", "spark.executor.memory=1g")
    assert second.returncode == 0, second.stderr
    assert spark_out.read_bytes() == duckdb_out.read_bytes()
    # Spark's own log stays out of the terminal without --verbose.
    assert "WARN" not in second.stderr
    assert "Exception" not in second.stderr
    summaries = [json.loads(Path(f"{p}.summary.json").read_text(encoding="utf-8"))
                 for p in (duckdb_out, spark_out)]
    for key in ("accounts_awarded", "awards", "liability", "by_rule", "by_segment"):
        assert summaries[0][key] == summaries[1][key]


def test_local_spark_keeps_its_own_log_out_of_the_terminal(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "local.parquet"
    done = compensate(scenario, out, "--engine", "spark", "--spark-master", "local[2]")
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    for spark_noise in ("WARN", "[Stage", "incubator", "Exception", "log4j"):
        assert spark_noise not in done.stderr
