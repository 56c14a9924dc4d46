"""`makegood compensate --engine`, `explain --ledger`, `policy compare` and `demo` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from makegood import policies as shipped
from makegood.adapters.scenario import generate
from makegood.entrypoints.cli.main import app

runner = CliRunner()
POLICIES = [shipped.path(p) for p in (*shipped.KAKAO_2022, "capped-fund")]


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    for _ in generate(tmp_path / "s", accounts=600, seed=5):
        pass
    return tmp_path / "s"


def compensate(scenario: Path, out: Path, *extra: str) -> None:
    args = ["compensate", "-i", str(scenario / "incident.toml"), "-a", str(scenario), "-o", str(out)]
    for p in POLICIES:
        args += ["-p", str(p)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output


def test_duckdb_and_reference_write_the_same_ledger_and_run_id(scenario: Path, tmp_path: Path) -> None:
    compensate(scenario, tmp_path / "duck.parquet")
    compensate(scenario, tmp_path / "ref.parquet", "--engine", "reference")
    assert (tmp_path / "duck.parquet").read_bytes() == (tmp_path / "ref.parquet").read_bytes()
    duck = json.loads((tmp_path / "duck.parquet.summary.json").read_text())
    ref = json.loads((tmp_path / "ref.parquet.summary.json").read_text())
    assert duck["engine"] == "duckdb"
    assert duck["run_id"] == ref["run_id"]
    assert {k: v for k, v in duck.items() if k != "engine"} == {k: v for k, v in ref.items()
                                                                if k != "engine"}


def test_an_unknown_engine_is_an_input_error(scenario: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compensate", "-i", str(scenario / "incident.toml"), "-a",
                                 str(scenario), "-o", str(tmp_path / "l.parquet"), "-p",
                                 str(POLICIES[0]), "--engine", "pandas"])
    assert result.exit_code == 2
    assert not (tmp_path / "l.parquet").exists()


def explain(scenario: Path, ledger: Path, account: str) -> tuple[int, str]:
    args = ["explain", "--account", account, "-i", str(scenario / "incident.toml"), "-a", str(scenario),
            "--ledger", str(ledger)]
    for p in POLICIES:
        args += ["-p", str(p)]
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    return result.exit_code, result.output


def test_explain_confirms_a_duckdb_ledger_row_by_row(scenario: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "l.parquet"
    compensate(scenario, ledger)
    table = pq.read_table(ledger)
    account = table.filter(pc.equal(table["policy_id"], "capped-fund"))["account_id"][0].as_py()
    code, output = explain(scenario, ledger, account)
    assert code == 0, output
    assert "matches the reference" in output
    assert "every ledger row matches the reference" in output
    assert "scaled pro rata by the fund cap" in output


def test_explain_flags_a_ledger_row_that_differs(scenario: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "l.parquet"
    compensate(scenario, ledger)
    table = pq.read_table(ledger)
    account = table["account_id"][0].as_py()
    amounts = table["amount"].to_pylist()
    amounts[0] = amounts[0] + 1
    tampered = table.set_column(table.schema.get_field_index("amount"), "amount",
                                pa.array(amounts, table.schema.field("amount").type))
    pq.write_table(tampered, ledger)
    code, output = explain(scenario, ledger, account)
    assert code == 1
    assert "differs from the reference" in output


def test_policy_compare_prints_each_policy_side_by_side(scenario: Path) -> None:
    result = runner.invoke(app, ["policy", "compare", str(shipped.path("content-3x")),
                                 str(shipped.path("kakao-2022-free-goodwill")), "-i",
                                 str(scenario / "incident.toml"), "-a", str(scenario)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "content-3x v1" in result.output
    assert "kakao-2022-free-goodwill v1" in result.output
    assert "accounts awarded" in result.output
    assert "money per account, p50" in result.output


def test_demo_runs_on_duckdb(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--accounts", "400", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "demo" / "ledger.parquet.summary.json").read_text())
    assert summary["engine"] == "duckdb"
    assert summary["awards"] > 0
