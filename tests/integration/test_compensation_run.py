"""The "run a compensation" use case (services.compensation.run) over the real engines.

One call names the run, runs the chosen engine, and writes the ledger and its summary
atomically, whichever engine streams its ledger itself (DuckDB) or hands back a table
(the reference engine).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from makegood import bootstrap, policies
from makegood.adapters.batch import BatchEngines
from makegood.adapters.scenario import generate
from makegood.adapters.tables import resolve
from makegood.domain.errors import DataError, InputError
from makegood.domain.incident_file import read_incident
from makegood.domain.policy import read_policy
from makegood.services import compensation

KAKAO = [policies.path("kakao-2022-paid"), policies.path("kakao-2022-small-business")]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "scenario"
    for _ in generate(out, accounts=3000, seed=7):
        pass
    return out


def run(scenario: Path, out: Path, engine: str = "duckdb", **kwargs: object
        ) -> compensation.RunReport:
    return compensation.run(engines=BatchEngines(), engine=engine,
                            incident=scenario / "incident.toml",
                            policies=kwargs.pop("policies", KAKAO),  # type: ignore[arg-type]
                            accounts=str(kwargs.pop("accounts", scenario)), out=out,
                            calendars=bootstrap.calendars(), **kwargs)  # type: ignore[arg-type]


def test_every_engine_writes_the_same_ledger_under_the_same_run_id(scenario, tmp_path):
    duck = run(scenario, tmp_path / "duckdb.parquet")
    ref = run(scenario, tmp_path / "reference.parquet", engine="reference")
    assert duck.ledger.read_bytes() == ref.ledger.read_bytes()
    assert duck.run_id == ref.run_id
    assert len(duck.run_id) == 16
    drop = ("engine",)
    assert ({k: v for k, v in duck.summary.items() if k not in drop}
            == {k: v for k, v in ref.summary.items() if k not in drop})


def test_the_summary_beside_the_ledger_says_which_run_wrote_it(scenario, tmp_path):
    report = run(scenario, tmp_path / "ledger.parquet", extra={"seed": 7})
    assert report.summary_path == tmp_path / "ledger.parquet.summary.json"
    written = json.loads(report.summary_path.read_text(encoding="utf-8"))
    assert written == report.summary
    assert written["run_id"] == report.run_id
    assert written["engine"] == "duckdb"
    assert written["seed"] == 7
    assert written["incident"] == read_incident(scenario / "incident.toml").id
    assert written["policies"] == ["kakao-2022-paid v1", "kakao-2022-small-business v1"]
    assert 0 < written["accounts"] <= 3000
    assert written["awards"] > 0


def test_a_changed_input_byte_gives_another_run_id(scenario, tmp_path):
    first = run(scenario, tmp_path / "a.parquet")
    changed = tmp_path / "policy.toml"
    changed.write_text(KAKAO[0].read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = run(scenario, tmp_path / "b.parquet", policies=[changed, KAKAO[1]])
    assert first.ledger.read_bytes() == second.ledger.read_bytes()
    assert first.run_id != second.run_id


BAD_SUBSCRIPTIONS = """\
subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,channel,start,end
s-1,acct-1,individual,music,premium,true,10900,KRW,month,web,2022-01-01T00:00:00+09:00,
s-2,acct-2,individual,music,premium,true,lots,KRW,month,web,2022-01-01T00:00:00+09:00,
"""


@pytest.mark.parametrize("engine", ["duckdb", "reference"])
def test_a_failed_run_leaves_the_previous_ledger_and_no_summary(scenario, tmp_path, engine):
    bad = tmp_path / "subscriptions.csv"
    bad.write_text(BAD_SUBSCRIPTIONS, encoding="utf-8")
    out = tmp_path / "ledger.parquet"
    out.write_bytes(b"the previous run's ledger")
    with pytest.raises(DataError) as error:
        run(scenario, out, engine=engine, accounts=bad)
    assert error.value.field == "fee"
    assert error.value.line == 3
    assert out.read_bytes() == b"the previous run's ledger"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.parquet", "subscriptions.csv"]


def test_an_unknown_engine_or_format_is_refused_before_anything_runs(scenario, tmp_path):
    out = tmp_path / "ledger.parquet"
    with pytest.raises(InputError, match="unknown engine 'polars'") as error:
        run(scenario, out, engine="polars")
    assert error.value.field == "--engine"
    with pytest.raises(InputError, match="unknown ledger format 'xlsx'"):
        run(scenario, out, fmt="xlsx")
    assert list(tmp_path.iterdir()) == []


def test_object_storage_is_refused_by_an_engine_that_cannot_read_it(scenario, tmp_path):
    with pytest.raises(InputError, match="add --engine spark"):
        run(scenario, tmp_path / "ledger.parquet", accounts="s3a://bucket/scenario/")


def test_fund_factors_come_from_the_run_summary_or_are_computed_alike(scenario, tmp_path):
    funded = [policies.path("capped-fund")]
    report = run(scenario, tmp_path / "ledger.parquet", policies=funded)
    recorded = Decimal(report.summary["fund_factors"]["capped-fund"])
    assert recorded < 1  # the fund is smaller than the claims: every share is scaled
    args = {"engines": BatchEngines(), "incident": read_incident(scenario / "incident.toml"),
            "policies": [read_policy(p) for p in funded], "source": resolve(str(scenario)),
            "calendars": bootstrap.calendars()}
    assert compensation.fund_factors(**args, ledger=report.ledger) == {"capped-fund": recorded}
    assert compensation.fund_factors(**args) == {"capped-fund": recorded}
    # A summary that lost the figure is not trusted: the factor is computed again.
    report.summary_path.write_text("{}", encoding="utf-8")
    assert compensation.fund_factors(**args, ledger=report.ledger) == {"capped-fund": recorded}
