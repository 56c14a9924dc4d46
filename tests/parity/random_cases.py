"""Random parity cases: incidents, policies with a rule of every kind, and their subscriptions.

Hypothesis draws the incident (time zone, windows near clock changes, month ends and public
holidays, severities, an official window, the fault) and a policy that holds one rule of each
kind with random parameters, filters and caps; the subscriptions and sales come from the parity
generator (:func:`tests.parity.parity_data.edge_rows`, seeded), placed at the incident's window
edges. Every engine must write the reference's ledger for them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.policy import Policy, load_policy
from makegood.domain.windows import Window

SERVICES = ("line", "tv", "cloud", "broadband")
ZONES = ("Asia/Seoul", "Europe/London", "UTC", "Europe/Berlin")
# Near the 2026 GB clock changes (29 Mar, 25 Oct), GB Christmas 2022, Chuseok 2022, a month end.
ANCHORS = (datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 10, 21, tzinfo=UTC),
           datetime(2022, 12, 22, tzinfo=UTC), datetime(2022, 9, 7, tzinfo=UTC),
           datetime(2022, 11, 28, tzinfo=UTC))
MINUTE = timedelta(minutes=1)


@st.composite
def incidents(draw: st.DrawFn) -> Incident:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS))
    impacts = []
    for _ in range(draw(st.integers(1, 5))):
        start = anchor + draw(st.integers(0, 6 * 24 * 60)) * MINUTE
        # on the hour sometimes: windows that start exactly at a local midnight
        if draw(st.booleans()):
            start = start.replace(minute=0)
        end = start + draw(st.integers(1, 8 * 24 * 60)) * MINUTE
        impacts.append(Impact(service=draw(st.sampled_from(SERVICES)), window=Window(start, end),
                              severity=draw(st.sampled_from((Severity.OUTAGE, Severity.OUTAGE,
                                                             Severity.DEGRADED)))))
    official = None
    if draw(st.booleans()):
        first = min(i.window.start for i in impacts)
        official = Window(first, first + draw(st.integers(60, 9 * 24 * 60)) * MINUTE)
    return Incident(id="random", title="random", timezone=zone, impacts=tuple(impacts),
                    fault=draw(st.sampled_from((Fault.PROVIDER, Fault.FORCE_MAJEURE))),
                    official_window=official)


def _when(draw: st.DrawFn, services: tuple[str, ...]) -> str:
    parts = []
    picked = draw(st.lists(st.sampled_from(services), unique=True, max_size=2))
    if picked:
        parts.append("services = [" + ", ".join(f'"{s}"' for s in picked) + "]")
    paid = draw(st.sampled_from((None, True, False)))
    if paid is not None:
        parts.append(f"paid = {str(paid).lower()}")
    if draw(st.integers(0, 3)) == 0:
        parts.append('channels = ["web", "other"]')
    if draw(st.integers(0, 3)) == 0:
        parts.append('segments = ["small_business"]')
    if draw(st.integers(0, 4)) == 0:
        parts.append('plans = ["pro", "business"]')
    return "when = { " + ", ".join(parts) + " }\n" if parts else ""


def _money_round(draw: st.DrawFn) -> str:
    step = draw(st.sampled_from(("1", "10", "0.01")))
    mode = draw(st.sampled_from(("half_up", "half_even", "up", "down")))
    return f'round = {{ step = "{step}", mode = "{mode}" }}\n'


def _trigger(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(("", 'trigger = { continuous_at_least = "2h" }\n',
                                 'trigger = { cumulative_more_than = "30min" }\n')))


def _fee_days(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(('fee_days = 30\n', 'fee_days = "calendar"\n')))


@st.composite
def policies(draw: st.DrawFn, incident: Incident) -> Policy:
    """A policy with one rule of every kind (random parameters), random filters and caps."""
    services = incident.services
    bases = ("measured", "measured", "official") if incident.official_window else ("measured",)
    head = ['[policy]', 'id = "random"', "version = 1", 'name = "random"', 'currency = "KRW"',
            f'windows = "{draw(st.sampled_from(bases))}"',
            draw(st.sampled_from(('severities = ["outage"]', 'severities = ["outage", "degraded"]')))]
    zone = draw(st.sampled_from((None, *ZONES)))
    if zone:
        head.append(f'timezone = "{zone}"')
    text = "\n".join(head) + "\n\n"
    caps = []
    if draw(st.booleans()):
        caps.append(f'per_account = "{draw(st.sampled_from(("5000", "20000")))}"')
    if draw(st.booleans()):
        caps += [f'fund = "{draw(st.sampled_from(("10000", "400000")))}"', 'reserve = "0.1"',
                 f'fund_round = {{ step = "{draw(st.sampled_from(("1", "10")))}", mode = "down" }}']
    if caps:
        text += "[caps]\n" + "\n".join(caps) + "\n\n"

    def rule(rule_id: str, kind: str, body: str) -> str:
        cap = f'cap = "{draw(st.sampled_from(("700", "15000")))}"\n' if draw(st.integers(0, 3)) == 0 else ""
        return f'[[rules]]\nid = "{rule_id}"\nkind = "{kind}"\n{_when(draw, services)}{cap}{body}\n'

    unit = draw(st.sampled_from(("day", "hour", "minute")))
    mode = draw(st.sampled_from(("up", "half_up", "down")))
    text += rule("ext", "extension_multiple",
                 f'multiplier = "{draw(st.sampled_from(("1", "1.5", "3")))}"\n'
                 f'force_majeure_multiplier = "{draw(st.sampled_from(("1", "0.5")))}"\n'
                 f'measure = "{draw(st.sampled_from(("cumulative", "continuous")))}"\n'
                 + _trigger(draw) +
                 f'round = {{ unit = "{unit}", mode = "{mode}" }}\n')
    text += rule("fee", "fee_multiple",
                 f'multiplier = "{draw(st.sampled_from(("6", "10", "2.5")))}"\n'
                 f'measure = "{draw(st.sampled_from(("cumulative", "continuous")))}"\n'
                 + _trigger(draw) +
                 f'time_round = {{ unit = "{draw(st.sampled_from(("hour", "minute", "day")))}", '
                 f'mode = "{draw(st.sampled_from(("up", "half_even")))}" }}\n'
                 + _fee_days(draw) + _money_round(draw) +
                 f'award = "{draw(st.sampled_from(("credit", "refund", "cash")))}"\n')
    fixed = draw(st.sampled_from(('extension = "3d"\n', 'extension = "72h"\n',
                                  'fee_time = "72h"\naward = "cash"\n', 'fee_time = "6d"\n',
                                  'amount = "1500"\naward = "cash"\n',
                                  'amount = "2"\nunit = "coupon"\naward = "item"\n')))
    if "fee_time" in fixed:
        fixed += _fee_days(draw) + _money_round(draw)
    text += rule("fixed", "fixed", fixed)
    tiers = draw(st.sampled_from((
        '{ below = "99.99", percent = "10" }, { below = "99.0", percent = "30" }, '
        '{ below = "95.0", percent = "100" }',
        '{ below = "99.9", percent = "10" }, { below = "99.0", percent = "25" }, '
        '{ below = "95.0", percent = "50" }')))
    sla = f"tiers = [ {tiers} ]\n"
    if draw(st.booleans()):
        sla += 'max_percent = "50"\n'
    sla += f'min_credit = "{draw(st.sampled_from(("0", "1", "100")))}"\n' + _money_round(draw)
    text += rule("sla", "sla_tiers", sla)
    grace = draw(st.sampled_from(("working", "calendar", "elapsed")))
    per_day = f'grace_days = {draw(st.integers(0, 3))}\ngrace = "{grace}"\n'
    if grace == "working":
        per_day += f'calendar = "{draw(st.sampled_from(("GB-ENG", "KR", "DE")))}"\n'
    per_day += ('steps = [ { from_day = 1, amount = "1000", fee_share = "0.05" }'
                + (', { from_day = 3, amount = "2000", fee_share = "0.1" }' if draw(st.booleans())
                   else "") + " ]\n" + _money_round(draw)
                + f'award = "{draw(st.sampled_from(("credit", "cash", "refund")))}"\n')
    text += rule("per-day", "per_day", per_day)
    text += rule("goodwill", "goodwill", f'item = "coupon"\nquantity = "{draw(st.integers(1, 3))}"\n')
    if draw(st.booleans()):
        loss = ('source = "computed"\nbaseline = { from = 2022-09-03, to = 2022-10-08 }\n'
                "outage_week = 2022-10-15\n")
    else:
        loss = 'source = "reported"\n'
    loss += ('brackets = [ { up_to = "300000", amount = "30000" }, '
             '{ up_to = "500000", amount = "50000" } ]\n')
    text += rule("loss", "loss_brackets", loss)
    return load_policy(text, file="<random>")
