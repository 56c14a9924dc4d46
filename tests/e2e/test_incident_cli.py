"""`makegood incident import` and `makegood incident show`, through Typer's CliRunner."""

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from makegood.domain.incident import Severity
from makegood.domain.incident_file import read_incident
from makegood.entrypoints.cli.incident import app

FIXTURES = Path(__file__).parents[1] / "fixtures"
GITHUB = FIXTURES / "statuspage" / "github-incidents-2024-09-17.json"
IMPORTERS = FIXTURES / "importers"

GITHUB_MAP = """
[statuspage.names]
Actions = { service = "github", feature = "actions" }
Pages = { service = "github", feature = "pages" }
"Disruption with Git SSH" = { service = "github", feature = "git" }
"""

KAKAO_MAP = """
[names]
"Kakao Mail" = { service = "kakao_mail" }
"카카오톡 메시지" = { service = "messenger", feature = "text" }
"TalkDown" = { service = "messenger", feature = "text" }
"MailDown" = { service = "kakao_mail" }
"Payments" = { service = "payments" }
"01GGIFT000000000000000001" = { service = "gift", feature = "coupons" }

[prometheus.names]
"pay-api" = { service = "payments" }

[uptime_kuma.names]
"카카오톡" = { service = "messenger", feature = "text" }
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_import_real_statuspage_feed_writes_the_incident(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "github.toml"
    result = runner.invoke(app, [
        "import", "--from", "statuspage", str(GITHUB), "--map", str(write(tmp_path / "map.toml", GITHUB_MAP)),
        "--out", str(out), "--id", "github-2024-09-16", "--title", "GitHub Actions and Pages",
        "--timezone", "Asia/Seoul", "--as-of", "2024-09-17T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "5 window(s) for 1 service(s)" in result.stdout
    incident = read_incident(out)
    assert (incident.id, incident.timezone) == ("github-2024-09-16", "Asia/Seoul")
    outage = incident.windows("github", features=["actions"])
    assert [w.duration.total_seconds() for w in outage] == pytest.approx([1081.477])
    assert "+09:00" in out.read_text(encoding="utf-8")


def test_unmapped_names_stop_the_import_and_are_listed(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "github.toml"
    partial = write(tmp_path / "map.toml", '[statuspage.names]\nActions = { service = "github" }\n')
    result = runner.invoke(app, ["import", "--from", "statuspage", str(GITHUB), "--map", str(partial),
                                 "--out", str(out), "--as-of", "2024-09-17T00:00:00Z"])
    assert result.exit_code == 2
    assert "'Pages'" in result.stderr
    assert "'Disruption with Git SSH'" in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback
    assert not out.exists()


def test_allow_unmapped_writes_and_notes_the_names(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "github.toml"
    partial = write(tmp_path / "map.toml", '[statuspage.names]\nActions = { service = "github" }\n')
    result = runner.invoke(app, ["import", "--from", "statuspage", str(GITHUB), "--map", str(partial),
                                 "--out", str(out), "--as-of", "2024-09-17T00:00:00Z", "--allow-unmapped"])
    assert result.exit_code == 0, result.output
    assert "warning: not in the map file: statuspage 'Pages'" in result.stderr
    assert any("'Pages'" in note for note in read_incident(out).notes)


def _kuma_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE monitor (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(150),
                              active BOOLEAN DEFAULT 1 NOT NULL, type VARCHAR(20));
        CREATE TABLE heartbeat (id INTEGER PRIMARY KEY AUTOINCREMENT,
            important BOOLEAN NOT NULL DEFAULT 0, monitor_id INTEGER NOT NULL, status SMALLINT NOT NULL,
            msg TEXT, time DATETIME NOT NULL, ping INTEGER, duration INTEGER NOT NULL DEFAULT 0,
            down_count INTEGER NOT NULL DEFAULT 0, end_time DATETIME DEFAULT NULL,
            retries INTEGER NOT NULL DEFAULT 0);
        INSERT INTO monitor (id, name, type) VALUES (1, '카카오톡', 'http');
        INSERT INTO heartbeat (monitor_id, status, time, important) VALUES
            (1, 0, '2022-10-15 06:30:00.000', 1), (1, 0, '2022-10-15 06:31:00.000', 0),
            (1, 1, '2022-10-15 16:35:00.000', 1);
    """)
    conn.commit()
    conn.close()
    return path


def test_several_kinds_merge_into_one_incident(runner: CliRunner, tmp_path: Path):
    prom = write(tmp_path / "up.json", json.dumps({"status": "success", "data": {
        "resultType": "matrix", "result": [{"metric": {"job": "pay-api"},
                                            "values": [[1665815400, "0"], [1665815460, "0"],
                                                       [1665815520, "1"]]}]}}))
    out = tmp_path / "kakao.toml"
    result = runner.invoke(app, [
        "import",
        f"statuspage:{IMPORTERS / 'statuspage-open.json'}",
        f"incidentio:{IMPORTERS / 'incidentio-incidents.json'}",
        f"alertmanager:{IMPORTERS / 'alertmanager-webhooks.jsonl'}",
        f"uptime_kuma:{_kuma_db(tmp_path / 'kuma.db')}",
        f"prometheus:{prom}",
        "--map", str(write(tmp_path / "map.toml", KAKAO_MAP)), "--out", str(out),
        "--timezone", "Asia/Seoul", "--as-of", "2022-10-20T23:00:00+09:00", "--id", "kakao-2022-10-15"])
    assert result.exit_code == 0, result.output
    assert "truncated 2 alert(s)" in result.stderr
    incident = read_incident(out)
    # messenger text: status page 15:30-01:31, alert 15:31-01:31 + 02:00-02:20, monitor 15:30-01:35
    text = incident.windows("messenger", features=["text"])
    assert [(w.start.isoformat(), w.end.isoformat()) for w in text] == [
        ("2022-10-15T06:30:00+00:00", "2022-10-15T16:35:00+00:00"),
        ("2022-10-15T17:00:00+00:00", "2022-10-15T17:20:00+00:00")]
    mail = [i for i in incident.impacts if i.service == "kakao_mail" and i.severity is Severity.OUTAGE]
    assert len(mail) == 1
    assert mail[0].open
    assert mail[0].window.end.isoformat() == "2022-10-20T14:00:00+00:00"
    pay = {(i.severity, i.window.start.isoformat()) for i in incident.impacts if i.service == "payments"}
    assert (Severity.MAINTENANCE, "2022-10-20T00:00:00+00:00") in pay
    assert "open = true" in out.read_text(encoding="utf-8")


def test_csv_needs_no_map(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "kakao.toml"
    result = runner.invoke(app, ["import", "--from", "csv", str(IMPORTERS / "kakao-2022.csv"),
                                 "--out", str(out), "--as-of", "2022-10-20T23:00:00+09:00",
                                 "--timezone", "Asia/Seoul"])
    assert result.exit_code == 0, result.output
    incident = read_incident(out)
    assert "카카오T" in incident.services
    assert incident.id == "kakao"


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2022-10-20T23:00:00"], "as_of"),
    (["--timezone", "Mars/Olympus"], "unknown time zone"),
    (["--from", "nagios"], "unknown source kind"),
])
def test_bad_options_are_one_line_errors(runner: CliRunner, tmp_path: Path, args: list[str], message: str):
    out = tmp_path / "out.toml"
    base = ["import", str(IMPORTERS / "kakao-2022.csv"), "--out", str(out)]
    if "--from" not in args:
        base += ["--from", "csv"]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert not out.exists()


def test_a_bad_source_leaves_an_existing_incident_untouched(runner: CliRunner, tmp_path: Path):
    out = write(tmp_path / "kakao.toml", "previous content\n")
    bad = write(tmp_path / "bad.csv", "service,feature,severity,start,end\n"
                "mail,,outage,2022-10-15T15:30:00+09:00,2022-10-15T15:00:00+09:00\n")
    result = runner.invoke(app, ["import", "--from", "csv", str(bad), "--out", str(out),
                                 "--as-of", "2022-10-20T23:00:00+09:00"])
    assert result.exit_code == 2
    assert re.match(rf"error: {re.escape(str(bad))}, line 2, field 'end': ", result.stderr)
    assert out.read_text(encoding="utf-8") == "previous content\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_source_of_the_wrong_kind_is_refused(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "out.toml"
    result = runner.invoke(app, ["import", "--from", "prometheus", str(GITHUB), "--out", str(out),
                                 "--map", str(write(tmp_path / "map.toml", GITHUB_MAP))])
    assert result.exit_code == 2
    assert "not a Prometheus query_range response" in result.stderr
    assert not out.exists()


def test_a_source_kind_without_a_map_is_refused(runner: CliRunner, tmp_path: Path):
    result = runner.invoke(app, ["import", "--from", "statuspage", str(GITHUB),
                                 "--out", str(tmp_path / "out.toml")])
    assert result.exit_code == 2
    assert "--map" in result.stderr


def _imported(runner: CliRunner, tmp_path: Path) -> Path:
    out = tmp_path / "kakao.toml"
    result = runner.invoke(app, ["import", "--from", "csv", str(IMPORTERS / "kakao-2022.csv"),
                                 "--out", str(out), "--as-of", "2022-10-20T23:00:00+09:00",
                                 "--timezone", "Asia/Seoul", "--title", "판교 데이터센터 화재"])
    assert result.exit_code == 0, result.output
    return out


def test_show_prints_windows_in_local_time_with_durations(runner: CliRunner, tmp_path: Path):
    result = runner.invoke(app, ["show", str(_imported(runner, tmp_path))])
    assert result.exit_code == 0, result.output
    assert "times in Asia/Seoul" in result.stdout
    webtoon = next(line for line in result.stdout.splitlines() if "webtoon" in line)
    assert "2022-10-15 15:30" in webtoon
    assert "2022-10-16 07:00" in webtoon
    assert "15 h 30 min" in webtoon
    photos = next(line for line in result.stdout.splitlines() if "photos" in line)
    assert "(open)" in photos
    assert "카카오T" in result.stdout


def test_show_draws_a_png_chart(runner: CliRunner, tmp_path: Path):
    chart = tmp_path / "kakao.png"
    result = runner.invoke(app, ["show", str(_imported(runner, tmp_path)), "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_draws_a_self_contained_html_page(runner: CliRunner, tmp_path: Path):
    chart = tmp_path / "kakao.html"
    result = runner.invoke(app, ["show", str(_imported(runner, tmp_path)), "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    page = chart.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<svg" in page
    assert "<?xml" not in page
    assert "<!DOCTYPE svg" not in page
    # nothing fetched over a network: only in-page references such as clip-path="url(#p1)"
    assert not re.search(r"<script|<link|<img|\bsrc=|url\((?!#)", page)
    assert "판교 데이터센터 화재" in page
    assert "택시 호출" in page
    # one row per service and feature, coloured by severity
    assert "#c0392b" in page
    assert "#e67e22" in page


def test_show_refuses_an_unknown_chart_format(runner: CliRunner, tmp_path: Path):
    incident = _imported(runner, tmp_path)
    result = runner.invoke(app, ["show", str(incident), "--chart", str(tmp_path / "c.pdf")])
    assert result.exit_code == 2
    assert not (tmp_path / "c.pdf").exists()


def test_show_reports_a_broken_incident_file(runner: CliRunner, tmp_path: Path):
    bad = write(tmp_path / "bad.toml", '[incident]\nid = "x"\n\n[[windows]]\nservice = "mail"\n'
                'start = "2022-10-15T15:30:00"\nend = "2022-10-15T16:30:00+09:00"\n')
    result = runner.invoke(app, ["show", str(bad)])
    assert result.exit_code == 2
    assert "no time zone" in result.stderr


def test_an_output_folder_that_does_not_exist_is_an_error(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "missing" / "kakao.toml"
    result = runner.invoke(app, ["import", "--from", "csv", str(IMPORTERS / "kakao-2022.csv"),
                                 "--out", str(out), "--as-of", "2022-10-20T23:00:00+09:00"])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not out.parent.exists()


def test_the_declared_official_window_is_written(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "kakao.toml"
    result = runner.invoke(app, ["import", "--from", "csv", str(IMPORTERS / "kakao-2022.csv"),
                                 "--out", str(out), "--as-of", "2022-10-20T23:00:00+09:00",
                                 "--official-start", "2022-10-15T15:30:00+09:00",
                                 "--official-end", "2022-10-20T23:00:00+09:00"])
    assert result.exit_code == 0, result.output
    official = read_incident(out).official_window
    assert official is not None
    assert official.duration.total_seconds() == 127.5 * 3600


def test_an_unmapped_name_seen_in_several_places_is_listed_once(runner: CliRunner, tmp_path: Path):
    data = json.loads(GITHUB.read_text(encoding="utf-8"))
    twice = write(tmp_path / "twice.json", json.dumps({"incidents": data["incidents"] * 2}))
    partial = write(tmp_path / "map.toml", '[statuspage.names]\nActions = { service = "github" }\n')
    result = runner.invoke(app, ["import", "--from", "statuspage", str(twice), str(GITHUB),
                                 "--map", str(partial), "--out", str(tmp_path / "x.toml"),
                                 "--as-of", "2024-09-17T00:00:00Z"])
    assert result.exit_code == 2
    assert result.stderr.count("'Pages'") == 1
    assert result.stderr.count("'Disruption with Git SSH'") == 1
    assert "2 source name(s) not in the map file" in result.stderr


def test_an_offset_in_an_uptime_kuma_time_is_warned_about(runner: CliRunner, tmp_path: Path):
    db = _kuma_db(tmp_path / "kuma.db")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE heartbeat SET time = '2022-10-16T01:35:00+09:00' WHERE status = 1")
    conn.commit()
    conn.close()
    result = runner.invoke(app, ["import", "--from", "uptime_kuma", str(db),
                                 "--map", str(write(tmp_path / "map.toml", KAKAO_MAP)),
                                 "--out", str(tmp_path / "k.toml"), "--as-of", "2022-10-20T23:00:00+09:00"])
    assert result.exit_code == 0, result.output
    assert "'2022-10-16T01:35:00+09:00' (row 3) carries an offset" in result.stderr


def test_show_totals_degraded_time_beside_outage_time(runner: CliRunner, tmp_path: Path):
    result = runner.invoke(app, ["show", str(_imported(runner, tmp_path))])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines.index("Time down per service (overlapping windows counted once)")
    assert lines[header + 1].split() == ["service", "outage", "degraded"]
    totals = {line.split()[0]: line for line in lines[header + 2:] if line.strip()}
    assert totals["messenger"].split()[1:] == ["127", "h", "30", "min", "0", "min"]
    assert totals["카카오T"].split()[1:] == ["0", "min", "50", "h", "30", "min"]


def test_without_a_title_the_status_page_incident_names_title_the_incident(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "github.toml"
    result = runner.invoke(app, [
        "import", "--from", "statuspage", str(GITHUB), "--map", str(write(tmp_path / "map.toml", GITHUB_MAP)),
        "--out", str(out), "--as-of", "2024-09-17T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert read_incident(out).title == "Incident with Pages and Actions; Disruption with Git SSH"
    shown = runner.invoke(app, ["show", str(out)])
    assert shown.stdout.startswith("Incident with Pages and Actions; Disruption with Git SSH (github)")


def test_without_a_title_or_named_incidents_the_id_is_the_title(runner: CliRunner, tmp_path: Path):
    out = tmp_path / "kakao.toml"
    result = runner.invoke(app, ["import", "--from", "csv", str(IMPORTERS / "kakao-2022.csv"),
                                 "--out", str(out), "--as-of", "2022-10-20T23:00:00+09:00"])
    assert result.exit_code == 0, result.output
    assert read_incident(out).title == "kakao"
