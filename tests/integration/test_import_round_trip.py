"""From an operator's timeline to compensation: import the 2022 windows (DOMAIN.md) as CSV with
the CLI, read the incident back, and compensate accounts under two shipped policies."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from makegood.domain.accounts import Account, BillingPeriod, Channel, Segment, Subscription
from makegood.domain.awards import AwardKind
from makegood.domain.compensation import compensate
from makegood.domain.incident import Incident
from makegood.domain.incident_file import read_incident
from makegood.domain.policy import read_policy
from makegood.entrypoints.cli.incident import app

ROOT = Path(__file__).parents[2]
TIMELINE = ROOT / "tests" / "fixtures" / "importers" / "kakao-2022.csv"
KST = timezone(timedelta(hours=9))
BEFORE = datetime(2022, 1, 1, tzinfo=KST)


@pytest.fixture
def incident(tmp_path: Path) -> Incident:
    out = tmp_path / "kakao-2022-10-15.toml"
    result = CliRunner().invoke(app, [
        "import", "--from", "csv", str(TIMELINE), "--out", str(out), "--timezone", "Asia/Seoul",
        "--title", "판교 데이터센터 화재", "--as-of", "2022-10-20T23:00:00+09:00"])
    assert result.exit_code == 0, result.output
    return read_incident(out)


def account(account_id: str, service: str, fee: str, *, start: datetime = BEFORE,
            segment: Segment = Segment.INDIVIDUAL) -> Account:
    sub = Subscription(id=f"{account_id}-1", account_id=account_id, service=service, plan="basic",
                       paid=True, fee=Decimal(fee), currency="KRW",
                       billing_period=BillingPeriod.MONTH, channel=Channel.WEB, start=start)
    return Account(account_id, segment, (sub,))


def test_telecom_terms_pay_ten_times_the_fee_for_the_imported_mail_outage(incident: Incident):
    policy = read_policy(ROOT / "policies" / "kr-telecom-10x.toml")
    (award,) = compensate(account("a1", "kakao_mail", "30000"), incident, policy).awards
    # 15 Oct 15:30 - 18 Oct 09:00 = 65 h 30 min; x 10 = 655 h of 30,000 KRW / 720 h = 27,291.67
    assert (award.kind, award.amount, award.currency) == (AwardKind.CREDIT, Decimal("27292"), "KRW")


def test_telecom_terms_for_the_imported_webtoon_window(incident: Incident):
    policy = read_policy(ROOT / "policies" / "kr-telecom-10x.toml")
    (award,) = compensate(account("a2", "webtoon", "9900"), incident, policy).awards
    # 15 Oct 15:30 - 16 Oct 07:00 = 15 h 30 min; x 10 = 155 h of 9,900 KRW / 720 h = 2,131.25
    assert award.amount == Decimal("2131")


def test_an_open_window_counts_until_as_of(incident: Incident):
    policy = read_policy(ROOT / "policies" / "content-3x.toml")
    (award,) = compensate(account("a3", "messenger", "3900"), incident, policy).awards
    # text until 16 Oct 01:31, photos still open at --as-of 20 Oct 23:00: 127 h 30 min in all;
    # x 3 = 382 h 30 min = 15.9 days -> 16 days
    assert (award.kind, award.amount) == (AwardKind.EXTENSION, Decimal("16"))
    assert "127 h 30 min" in award.explanation


def test_a_degraded_only_service_earns_nothing_under_an_outage_policy(incident: Incident):
    policy = read_policy(ROOT / "policies" / "content-3x.toml")
    assert compensate(account("a4", "카카오T", "39000"), incident, policy).awards == ()


def test_a_subscriber_who_joined_after_the_outage_earns_nothing(incident: Incident):
    policy = read_policy(ROOT / "policies" / "kr-telecom-10x.toml")
    late = account("a5", "kakao_mail", "30000", start=datetime(2022, 10, 21, tzinfo=KST))
    assert compensate(late, incident, policy).awards == ()
