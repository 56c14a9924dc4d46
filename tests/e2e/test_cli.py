"""The command line through Typer's runner: the main job, explanations, and bad input."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from makegood import policies
from makegood.adapters.scenario import kakao_2022_incident
from makegood.domain.incident_file import dump_incident
from makegood.entrypoints.cli.main import app

runner = CliRunner()

HEADER = "subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,channel,start,end"
ROWS = [
    "S1,A1,individual,music,unlimited,true,10900,KRW,month,web,2022-01-01T00:00:00+09:00,",
    "S2,A1,individual,messenger,free,false,0,KRW,month,web,2020-01-01T00:00:00+09:00,",
    "S3,A2,individual,taxi_pro,pro,true,39000,KRW,month,web,2022-03-01T00:00:00+09:00,",
    "S4,A3,individual,emoticon_plus,plus,true,3900,KRW,month,app_store,2022-05-01T00:00:00+09:00,",
    "S5,A4,individual,music,unlimited,true,10900,KRW,month,web,2022-10-21T00:00:00+09:00,",
]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    incident = tmp_path / "incident.toml"
    incident.write_text(dump_incident(kakao_2022_incident()), encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return {"incident": incident, "accounts": accounts, "dir": tmp_path,
            "paid": policies.path("kakao-2022-paid"),
            "goodwill": policies.path("kakao-2022-free-goodwill")}


def compensate_args(inputs: dict[str, Path], out: Path, accounts: Path | None = None) -> list[str]:
    return ["compensate", "--incident", str(inputs["incident"]), "--policy", str(inputs["paid"]),
            "--policy", str(inputs["goodwill"]), "--accounts", str(accounts or inputs["accounts"]),
            "--out", str(out)]


def test_compensate_writes_a_ledger_with_one_row_per_award(inputs):
    out = inputs["dir"] / "ledger.parquet"
    result = runner.invoke(app, compensate_args(inputs, out))
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    got = {(r["account_id"], r["rule_id"], f"{r['amount'].normalize():f}", r["unit"]) for r in rows}
    assert got == {
        ("A1", "music-web", "3", "day"),
        ("A1", "emoticon-pack", "1", "emoticon-pack-3"),
        ("A2", "taxi-pro", "7550", "KRW"),
        ("A3", "emoticon-app-store", "377", "KRW"),
    }
    assert (inputs["dir"] / "ledger.parquet.summary.json").is_file()
    assert "total liability (KRW)" in result.output


def test_compensate_csv_ledger(inputs):
    out = inputs["dir"] / "ledger.csv"
    result = runner.invoke(app, compensate_args(inputs, out))
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("account_id,subscription_id,segment,service,policy_id,rule_id")
    assert any(",taxi-pro," in line and ",7550," in line for line in lines)


def test_explain_prints_the_reason_in_words(inputs):
    result = runner.invoke(app, ["explain", "--account", "A2", "--incident", str(inputs["incident"]),
                                 "--policy", str(inputs["paid"]), "--accounts", str(inputs["accounts"])])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "taxi_pro: down 15 Oct 15:30 - 20 Oct 23:00 KST, 127 h 30 min; rule taxi-pro" in text
    assert "7,548.39 -> 7,550 KRW" in text


def test_explain_unknown_account_exits_3(inputs):
    result = runner.invoke(app, ["explain", "--account", "NOPE", "--incident", str(inputs["incident"]),
                                 "--policy", str(inputs["paid"]), "--accounts", str(inputs["accounts"])])
    assert result.exit_code == 3
    assert "NOPE" in result.output


def test_policy_check_prints_rules_in_words():
    result = runner.invoke(app, ["policy", "check", str(policies.path("de-tkg-58"))])
    assert result.exit_code == 0, result.output
    assert "the higher of 10 or 20 % of the monthly fee" in " ".join(result.output.split())


def test_policy_check_of_a_bad_policy_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nid = "x"\nversion = 1\nname = "x"\ncurrency = "KRW"\n'
                   '[[rules]]\nid = "r"\nkind = "lottery"\n', encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}, rule 'r', field 'kind': unknown rule kind 'lottery'" in result.output
    assert "Traceback" not in result.output


def bad_input_case(inputs, name: str, rows: list[str], header: str = HEADER,
                   engine: str | None = None) -> tuple[int, str, Path]:
    accounts = inputs["dir"] / f"{name}.csv"
    accounts.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    out = inputs["dir"] / f"{name}-ledger.parquet"
    args = compensate_args(inputs, out, accounts) + (["--engine", engine] if engine else [])
    result = runner.invoke(app, args)
    return result.exit_code, result.output, out


@pytest.mark.parametrize(("name", "rows", "header", "expected"), [
    ("naive", [ROWS[0].replace("+09:00", "")], HEADER, "line 2, field 'start'"),
    ("negative", [ROWS[0].replace(",10900,", ",-5,")], HEADER, "line 2, field 'fee'"),
    ("missing", [",".join(ROWS[0].split(",")[:-1])], HEADER.replace(",end", ""), "field 'end'"),
    ("badrow", [ROWS[1], ROWS[0].replace(",web,", ",shop,")], HEADER, "line 3, field 'channel'"),
    ("ends-first", [ROWS[0] + "2021-01-01T00:00:00+09:00"], HEADER, "line 2, field 'end'"),
])
def test_bad_accounts_exit_2_naming_file_line_and_field_and_write_nothing(
        inputs, name, rows, header, expected):
    code, output, out = bad_input_case(inputs, name, rows, header)
    assert code == 2, output
    assert expected in output
    assert f"{name}.csv" in output
    assert not out.exists()
    assert not list(inputs["dir"].glob(f".{name}-ledger*"))


def test_malformed_policy_toml_exits_2(inputs, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[policy\n", encoding="utf-8")
    out = tmp_path / "l.parquet"
    result = runner.invoke(app, ["compensate", "--incident", str(inputs["incident"]), "--policy",
                                 str(bad), "--accounts", str(inputs["accounts"]), "--out", str(out)])
    assert result.exit_code == 2
    assert "broken.toml, line 1: malformed TOML" in result.output
    assert not out.exists()


def test_demo_runs_the_2022_scenario(tmp_path):
    result = runner.invoke(app, ["demo", "--accounts", "2000", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "accounts affected" in result.output
    assert "total liability (KRW)" in result.output
    ledger = pq.read_table(tmp_path / "demo" / "ledger.parquet")
    assert ledger.num_rows > 1000
    assert set(ledger.column("policy_id").to_pylist()) == {
        "kakao-2022-paid", "kakao-2022-free-goodwill", "kakao-2022-small-business"}


def test_policy_naming_a_service_nobody_knows_exits_2(inputs, tmp_path):
    policy = tmp_path / "typo.toml"
    policy.write_text('[policy]\nid = "t"\nversion = 1\nname = "t"\ncurrency = "KRW"\n'
                      '[[rules]]\nid = "r"\nkind = "fixed"\namount = "1"\n'
                      'when = { services = ["musik"] }\n', encoding="utf-8")
    out = tmp_path / "l.parquet"
    result = runner.invoke(app, ["compensate", "--incident", str(inputs["incident"]), "--policy",
                                 str(policy), "--accounts", str(inputs["accounts"]), "--out", str(out)])
    assert result.exit_code == 2
    assert "rule 'r', field 'when.services': unknown service 'musik'" in result.output
    assert not out.exists()


def test_incident_window_ending_before_it_starts_exits_2(inputs, tmp_path):
    incident = tmp_path / "bad-incident.toml"
    incident.write_text('[incident]\nid = "x"\n\n[[windows]]\nservice = "music"\n'
                        'start = "2022-10-16T02:00:00+09:00"\nend = "2022-10-15T15:30:00+09:00"\n',
                        encoding="utf-8")
    out = tmp_path / "l.parquet"
    result = runner.invoke(app, ["compensate", "--incident", str(incident), "--policy",
                                 str(inputs["paid"]), "--accounts", str(inputs["accounts"]),
                                 "--out", str(out)])
    assert result.exit_code == 2
    assert "bad-incident.toml, field 'windows[0].end'" in result.output
    assert not out.exists()


def test_two_reported_losses_for_one_account_are_refused(inputs, tmp_path):
    header = HEADER + ",reported_loss"
    rows = [ROWS[0] + ",100", ROWS[1] + ",200"]
    code, output, out = bad_input_case(inputs, "losses", rows, header, engine="reference")
    assert code == 2
    assert "two reported losses" in output
    assert not out.exists()


@pytest.mark.parametrize("group", ["scenario", "keys", "payouts", "incident", "policy"])
def test_every_command_group_keeps_its_subcommands(group: str) -> None:
    """A group with one subcommand (`scenario generate`) must not collapse into that command."""
    result = CliRunner().invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    assert "Commands" in result.output


def test_scenario_generate_writes_the_incident_and_the_parts(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scenario", "generate", "--accounts", "50", "--seed", "3",
                                      "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "incident.toml").exists()
    assert sum(pq.ParquetFile(p).metadata.num_rows
               for p in (tmp_path / "s" / "subscriptions").glob("*.parquet")) > 50
