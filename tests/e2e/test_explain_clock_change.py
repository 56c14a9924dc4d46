"""`makegood explain` across a clock change: each time in its own zone, the days paid named."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from makegood import policies
from makegood.domain.incident import Impact, Incident
from makegood.domain.incident_file import dump_incident
from makegood.domain.windows import Window
from makegood.entrypoints.cli.main import app

LONDON = ZoneInfo("Europe/London")


def test_explain_labels_the_end_of_an_outage_in_summer_time_with_bst(tmp_path: Path) -> None:
    outage = Window(datetime(2026, 3, 25, 10, tzinfo=LONDON), datetime(2026, 3, 30, 0, 30, tzinfo=LONDON))
    incident = tmp_path / "incident.toml"
    incident.write_text(dump_incident(Incident(
        id="gb-broadband-2026-03", title="Broadband down in Leeds", timezone="Europe/London",
        impacts=(Impact(service="broadband", window=outage),))), encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,"
        "channel,start,end\n"
        "S1,A1,individual,broadband,fibre,true,30,GBP,month,web,2025-01-01T00:00:00Z,\n",
        encoding="utf-8")
    result = CliRunner().invoke(app, [
        "explain", "--account", "A1", "--incident", str(incident),
        "--policy", str(policies.path("ofcom-gb")), "--accounts", str(accounts)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "broadband: down 25 Mar 10:00 GMT - 30 Mar 00:30 BST, 109 h 30 min" in text
    assert "grace of 2 working days ends 28 Mar 00:00 GMT" in text
    assert "3 local day(s), Sat 28 Mar to Mon 30 Mar: 3 x 10.34 = 31.02 GBP" in text
