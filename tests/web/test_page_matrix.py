"""Every web page by every role gets the status ``page_matrix.csv`` says; the table must name
every page the app serves (a new page without a row fails here)."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from makegood.entrypoints.web.security import WebRoute

from .conftest import Web
from .test_portal import DETAILS, file_claim, start_draft

MATRIX = Path(__file__).with_name("page_matrix.csv")
ROLES = {"anonymous": None, "reviewer": "rev", "supervisor": "sup1", "auditor": "aud",
         "admin": "admin"}


def read_matrix() -> list[dict[str, str]]:
    lines = [line for line in MATRIX.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_the_matrix_names_every_page(web: Web) -> None:
    from makegood.entrypoints.web import console, filing, portal, tracking

    routers = [portal.router, filing.router, tracking.router, *console.routers]
    served = {(method, route.path) for router in routers for route in router.routes
              if isinstance(route, WebRoute) for method in route.methods}
    assert len(served) > 30
    listed = {(row["method"], row["path"]) for row in read_matrix()}
    assert served - listed == set(), "pages without a row in page_matrix.csv"
    assert listed - served == set(), "rows for pages the app does not serve"


def _params(web: Web) -> dict[str, str]:
    """Path parameters that name things that exist."""
    claim_id, token = file_claim(web)
    draft = start_draft(web).rsplit("/", 1)[1]
    with web.engine.connect() as conn:
        evidence = conn.execute(sa.text("select id from evidence where claim_id = :c"),
                                {"c": claim_id}).scalar()
        conn.execute(sa.text("insert into web_runs (id, status, params, started_by, created_at,"
                             " ledger_path, summary) values ('r1', 'done', '{}', 'admin',"
                             " '2022-10-20 01:00:00', :p, '{}')"),
                     {"p": str(web.root / "ledger.csv")})
        conn.execute(sa.text("insert into notice_campaigns (id, kind, incident_id, status,"
                             " accounts, enqueued, without_contact, created_at) values ('c1',"
                             " 'awards', 'kakao-2022-10-15', 'enqueued', 0, 0, 0,"
                             " '2022-10-20 01:00:00')"))
        conn.commit()
    (web.root / "ledger.csv.summary.json").write_text("{}", encoding="utf-8")
    params = {"name": "style.css", "code": "en", "incident_id": "kakao-2022-10-15",
              "token": draft, "claim_id": claim_id, "evidence_id": str(evidence),
              "run_id": "r1", "what": "summary.json", "campaign_id": "c1", "receipt": token,
              "username": "sup2"}
    return params


def test_every_role_gets_the_status_the_matrix_says(web: Web) -> None:
    params = _params(web)
    wrong = []
    for role, user in ROLES.items():
        web.client.cookies.clear()
        if user is not None:
            web.login(user)
        for row in read_matrix():
            values = dict(params)
            path = row["path"]
            if path.startswith(("/portal/receipt", "/portal/track/")):
                values["token"] = params["receipt"]
            if path.startswith("/console/claims/{claim_id}") and row["method"] == "POST":
                values["claim_id"] = file_claim(web)[0]  # a fresh claim in a state to decide
            if path.startswith("/portal/drafts/"):
                values["token"] = start_draft(web).rsplit("/", 1)[1]  # a fresh, unfinished one
            if path.startswith("/console/exports/"):
                values["name"] = "roster.csv"
            if path.endswith("/{what}") and path.startswith("/portal"):
                values["what"] = "answer"
            url = path.format(**values)
            if row["method"] == "GET":
                r = web.client.get(url, follow_redirects=False)
            else:
                data = _form(path, user or "admin")
                page = "/console/login" if user is None or path == "/console/login" \
                    else "/console"
                if path.startswith("/portal"):
                    page = "/portal/check"
                r = web.post(url, data, page=page)  # type: ignore[assignment]
            if str(r.status_code) != row[role]:
                wrong.append(f"{row['method']} {path} as {role}: {r.status_code} "
                             f"(expected {row[role]})")
            if path in ("/console/logout", "/console/login") and user is not None:
                web.login(user)  # signed out (or in as another): sign in again
    assert wrong == []


def _form(path: str, username: str) -> dict[str, str]:
    if path.endswith("/assign"):
        return {"username": username}
    if path.endswith("/decision"):
        return {"action": "approve", "amount": "1000"}
    if path == "/portal/incidents/{incident_id}/file":
        return {"claimant_kind": "individual", "category": "other"}
    if path == "/portal/drafts/{token}":
        return {**DETAILS, "action": "save"}
    return {}
