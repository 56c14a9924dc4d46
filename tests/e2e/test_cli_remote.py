"""Inputs at object-storage URLs go to the Spark engine; a local file:// URL stands in for s3a://."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from makegood import policies
from makegood.adapters.scenario import generate
from makegood.entrypoints.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("remote") / "scenario"
    for _ in generate(out, accounts=300, seed=11):
        pass
    return out


def args(scenario: Path, accounts: str, out: Path, *extra: str) -> list[str]:
    return ["compensate", "--incident", str(scenario / "incident.toml"),
            "--policy", str(policies.path("kakao-2022-paid")),
            "--policy", str(policies.path("kakao-2022-small-business")),
            "--accounts", accounts, "--out", str(out), *extra]


def test_a_url_without_the_spark_engine_is_refused(scenario, tmp_path):
    out = tmp_path / "l.parquet"
    result = runner.invoke(app, args(scenario, "s3a://bucket/scenario/", out))
    assert result.exit_code == 2
    assert "add --engine spark" in result.output
    assert not out.exists()


@pytest.mark.spark
def test_spark_reads_a_scenario_url_and_writes_the_same_ledger_as_duckdb(scenario, tmp_path):
    local, remote = tmp_path / "duckdb.parquet", tmp_path / "spark.parquet"
    first = runner.invoke(app, args(scenario, str(scenario), local))
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, args(scenario, f"file://{scenario}/", remote, "--engine", "spark"))
    assert second.exit_code == 0, second.output
    assert local.read_bytes() == remote.read_bytes()
