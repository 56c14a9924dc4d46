"""No request produces a 500: malformed bodies, wrong types, unknown ids all get a 4xx."""

from __future__ import annotations

import pytest

from .claims_data import claim_body
from .conftest import Api

BAD_BODIES: list[object] = [
    None, [], "text", 42, {},
    claim_body(amount="lots"), claim_body(amount=-5), claim_body(amount="1e400"),
    claim_body(start="yesterday"), claim_body(end="2022-10-15T10:00:00+09:00"),
    claim_body(claimant_kind="robot"), claim_body(category="fun"),
    claim_body(consent="maybe"), claim_body(name="x" * 10_000), claim_body(name=""),
    claim_body(sales={"outage_week": "1", "baseline": []}),
    claim_body(sales={"outage_week": "1", "baseline": [{"week_start": "someday", "amount": 1}]}),
    claim_body(incident_id="no-such-incident"), claim_body(service="webtoon"),
    claim_body(currency="₩₩₩"), claim_body(payout_account="!!"), claim_body(extra="field"),
    claim_body(phone="call me"), claim_body(description="   "), claim_body(name="nul\u0000byte"),
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_claim_bodies_get_a_4xx_with_fields(api: Api, body: object) -> None:
    r = api.client.post("/claims", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["errors"], r.text


def test_body_that_is_not_json_gets_a_422(api: Api) -> None:
    r = api.client.post("/claims", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


@pytest.mark.parametrize("path", ["/claims/nope", "/staff/claims/nope", "/nowhere"])
def test_unknown_paths_and_ids_get_a_4xx(api: Api, path: str) -> None:
    r = api.client.get(path, headers={**api.as_("admin"), "X-Receipt-Token": "x"})
    assert 400 <= r.status_code < 500


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


def test_nul_characters_in_staff_input_get_a_4xx(api: Api) -> None:
    r = api.client.post("/staff/login", json={"username": "ad\u0000min", "password": "whatever"})
    assert 400 <= r.status_code < 500


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
