"""The authorization matrix: every route by every role gets the status the table in
``authorization_matrix.csv`` says, on SQLite and PostgreSQL. The table must name every route the
app serves (a new route without a row fails here), and each cell runs on its own fresh claim in
the state the route needs, so that a role is refused or allowed for who it is, not for the state.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .claims_data import INCIDENT, POLICY, SUBSCRIPTIONS, claim_body
from .conftest import ADMIN_PASSWORD, Api

MATRIX = Path(__file__).with_name("authorization_matrix.csv")
ROLES = ("anonymous", "own", "other", "reviewer", "supervisor", "auditor", "admin")
STAFF = ("reviewer", "supervisor", "auditor", "admin")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_serial = itertools.count()


def read_matrix() -> list[dict[str, str]]:
    lines = [line for line in MATRIX.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass
class Cell:
    """One request: the claim it works on and what to send."""

    claim: dict[str, str] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    files: Any = None
    query: dict[str, str] = field(default_factory=dict)
    after: Callable[[], None] | None = None


def new_claim(api: Api) -> dict[str, str]:
    r = api.submit()
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def staff_decides(api: Api, claim: dict[str, str], **body: Any) -> None:
    r = api.client.post(f"/staff/claims/{claim['claim_id']}/decision", headers=api.as_("admin"),
                        json=body)
    assert r.status_code == 200, r.text


@functools.cache
def _classifier() -> Any:
    from makegood.adapters.text.model import TriageModel

    return TriageModel.load()


def screen_claim(api: Api, claim_id: str) -> None:
    """Screen a claim as intake's background thread would (its duplicate group is read)."""
    from makegood import bootstrap
    from makegood.services import screening

    screening.screen_claim(uow=bootstrap.unit_of_work(api.engine),
                           cipher=api.client.app.state.ctx.cipher,  # type: ignore[attr-defined]
                           claim_id=claim_id, now=api.clock(), classifier=_classifier())


def prepare(api: Api, method: str, path: str, role: str) -> Cell:
    """The claim and body a request on ``path`` needs to succeed for an allowed caller."""
    cell = Cell(claim=new_claim(api), other=new_claim(api))
    claim_id = cell.claim["claim_id"]
    cell.params = {"claim_id": claim_id, "incident_id": "kakao-2022-10-15", "entity": "claim",
                   "entity_id": claim_id, "username": "victim"}
    if path.endswith("/evidence/{evidence_id}"):
        r = api.client.post(f"/claims/{claim_id}/evidence", files={"file": ("a.pdf", PDF)},
                            headers={"X-Receipt-Token": cell.claim["receipt_token"]})
        cell.params["evidence_id"] = str(r.json()["id"])
    elif path.endswith("/evidence"):
        cell.files = {"file": ("receipt.pdf", PDF, "application/pdf")}
    elif path.endswith("/answer"):
        staff_decides(api, cell.claim, action="request_info", cure_days=10, note="영수증")
        cell.json = {"text": "첨부합니다"}
    elif path.endswith("/appeal"):
        staff_decides(api, cell.claim, action="deny", reason_code="NO_PROOF_OF_LOSS")
        cell.json = {"reason": "증빙이 있습니다"}
    elif path == "/claims":
        cell.json = claim_body()
    elif path == "/staff/login":
        cell.json = {"username": "admin", "password": ADMIN_PASSWORD}
    elif path == "/staff/password":
        cell.json = {"current_password": ADMIN_PASSWORD, "new_password": ADMIN_PASSWORD}
        cell.after = lambda: api.login(role) if role in STAFF else None
    elif path == "/staff/logout":
        cell.after = lambda: api.login(role) if role in STAFF else None
    elif path == "/staff/users" and method == "POST":
        cell.json = {"username": f"new{next(_serial)}", "password": ADMIN_PASSWORD,
                     "role": "reviewer"}
    elif path == "/staff/policies":
        cell.json = {"document": POLICY}
    elif path == "/staff/incidents":
        cell.json = {"document": INCIDENT, "policy_id": "kakao-2022-claims"}
    elif path.endswith("/intake"):
        cell.json = {"opens": "2022-10-19T00:00:00+09:00", "closes": "2022-11-07T00:00:00+09:00"}
    elif path == "/staff/accounts/import":
        cell.files = {"subscriptions": ("subscriptions.csv", SUBSCRIPTIONS.encode(), "text/csv")}
    elif path.endswith("/assign"):
        cell.json = {"username": role if role in STAFF else "admin"}
    elif path.endswith("/decision"):
        cell.json = {"action": "approve", "amount": "1000"}
    elif path.endswith("/duplicates") and method == "POST":
        cell.json = {"other_claim_id": cell.other["claim_id"], "duplicate": False}
    elif path.endswith("/duplicates"):
        screen_claim(api, claim_id)
    elif path == "/staff/claims/import":
        out = io.StringIO()
        row = {**claim_body(), "consent": "true", "feature": "", "sales_outage_week": "",
               "sales_baseline": ""}
        from makegood.services.claims_import import COLUMNS

        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerow(row)
        cell.files = {"file": ("claims.csv", out.getvalue().encode(), "text/csv")}
    return cell


def headers_for(api: Api, role: str, cell: Cell) -> dict[str, str]:
    if role == "own":
        return {"X-Receipt-Token": cell.claim["receipt_token"]}
    if role == "other":
        return {"X-Receipt-Token": cell.other["receipt_token"]}
    if role in STAFF:
        return api.as_(role)
    return {}


@pytest.fixture
def world(api: Api) -> Api:
    for role in ("reviewer", "supervisor", "auditor"):
        api.add_staff(role, role)
    api.add_staff("victim", "reviewer")
    return api


def test_the_matrix_names_every_route_the_app_serves(api: Api) -> None:
    served = {(m.upper(), p) for p, ops in api.client.get("/openapi.json").json()["paths"].items()
              for m in ops} | {("GET", "/openapi.json")}
    listed = {(row["method"], row["path"]) for row in read_matrix()}
    assert served - listed == set(), "routes without a row in authorization_matrix.csv"
    assert listed - served == set(), "rows for routes the app does not serve"


def test_every_role_gets_the_status_the_matrix_says(world: Api) -> None:
    wrong = []
    for row in read_matrix():
        for role in ROLES:
            cell = prepare(world, row["method"], row["path"], role)
            url = row["path"].format(**cell.params)
            r = world.client.request(row["method"], url, headers=headers_for(world, role, cell),
                                     json=cell.json, files=cell.files, params=cell.query)
            if cell.after is not None:
                cell.after()
            if str(r.status_code) != row[role]:
                wrong.append(f"{row['method']} {row['path']} as {role}: {r.status_code} "
                             f"(expected {row[role]}) {r.text[:120]}")
    assert wrong == []
