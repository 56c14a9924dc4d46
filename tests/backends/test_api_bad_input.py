"""No request produces a 500: malformed bodies, wrong types, unknown ids each get their 4xx,
and a refused request changes nothing that is stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db import schema

from .claims_data import claim_body
from .conftest import Api

STORED = (schema.claims, schema.audit_log, schema.idempotency_keys, schema.evidence,
          schema.messages, schema.decisions, schema.staff_users, schema.staff_sessions)


def stored(engine: Engine) -> dict[str, int]:
    """How many rows each table of claims and staff holds."""
    with engine.connect() as conn:
        return {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in STORED}


# Each bad body, with the field the error names (None: the body as a whole).
BAD_BODIES: list[tuple[object, str | None]] = [
    (None, None), ([], None), ("text", None), (42, None), ({}, "incident_id"),
    (claim_body(amount="lots"), "amount"), (claim_body(amount=-5), "amount"),
    (claim_body(amount="1e400"), "amount"),
    (claim_body(start="yesterday"), "start"), (claim_body(end="2022-10-15T10:00:00+09:00"), "end"),
    (claim_body(claimant_kind="robot"), "claimant_kind"), (claim_body(category="fun"), "category"),
    (claim_body(consent="maybe"), "consent"), (claim_body(name="x" * 10_000), "name"),
    (claim_body(name=""), "name"),
    (claim_body(sales={"outage_week": "1", "baseline": []}), "sales.baseline"),
    (claim_body(sales={"outage_week": "1", "baseline": [{"week_start": "someday", "amount": 1}]}),
     "sales.baseline.0.week_start"),
    (claim_body(incident_id="no-such-incident"), "incident_id"),
    (claim_body(service="webtoon"), "service"), (claim_body(currency="₩₩₩"), "currency"),
    (claim_body(payout_account="!!"), "payout_account"), (claim_body(extra="field"), "extra"),
    (claim_body(phone="call me"), "phone"), (claim_body(description="   "), "description"),
    (claim_body(name="nul\u0000byte"), "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_claim_bodies_get_a_422_naming_the_field_and_store_nothing(
        api: Api, body: object, field: str | None) -> None:
    before = stored(api.engine)
    r = api.client.post("/claims", json=body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.text
    assert stored(api.engine) == before


def test_body_that_is_not_json_gets_a_422(api: Api) -> None:
    r = api.client.post("/claims", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


@pytest.mark.parametrize("path", ["/claims/nope", "/staff/claims/nope", "/nowhere"])
def test_unknown_paths_and_ids_get_a_404_and_change_nothing(api: Api, path: str) -> None:
    before = stored(api.engine)
    r = api.client.get(path, headers={**api.as_("admin"), "X-Receipt-Token": "x"})
    assert r.status_code == 404, r.text
    assert stored(api.engine) == before


def test_huge_number_in_the_json_text_gets_a_422(api: Api) -> None:
    import json

    text = json.dumps(claim_body()).replace('"amount": "0"', '"amount": 1e400')
    r = api.client.post("/claims", content=text.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_bad_queue_filters_get_a_422(api: Api) -> None:
    r = api.client.get("/staff/claims", headers=api.as_("admin"),
                       params={"amount_min": "abc", "limit": "0", "status": "lost"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"amount_min", "limit", "status"}


def test_bad_incident_document_names_the_problem(api: Api) -> None:
    r = api.client.put("/staff/incidents", headers=api.as_("admin"),
                       json={"document": "[incident]\nid = 'x'\n[[windows]]\nservice='a'\n"
                                         "start='2022-10-15T15:30:00'\nend='2022-10-16T01:00:00+09:00'"})
    assert r.status_code == 422
    assert "time zone" in r.json()["detail"]


def test_nul_characters_in_a_user_name_get_a_422_and_open_no_session(api: Api) -> None:
    before = stored(api.engine)
    r = api.client.post("/staff/login", json={"username": "ad\u0000min", "password": "whatever"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "username"
    assert stored(api.engine) == before


def test_claim_sent_as_form_data_gets_a_422_naming_the_body(api: Api) -> None:
    # Not JSON: the request goes past the lean intake path to the FastAPI route.
    r = api.client.post("/claims", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"


def test_body_larger_than_a_megabyte_gets_a_413(api: Api) -> None:
    r = api.client.post("/claims", content=b" " * ((1 << 20) + 1),
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"]


def test_idempotency_key_longer_than_200_characters_gets_a_422(api: Api) -> None:
    r = api.submit(headers={"Idempotency-Key": "k" * 201})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
