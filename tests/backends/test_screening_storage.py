"""Triage and screening on SQLite and PostgreSQL: the batch, a claim screened after intake, the
staff queue's filters and sort, duplicate groups side by side, reviewers' decisions respected."""

from __future__ import annotations

from typing import Any

import pytest

from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.text.model import TriageModel
from makegood.services import screening

from .conftest import Api


@pytest.fixture(scope="module")
def model() -> TriageModel:
    return TriageModel.load()


def _file(api: Api, **changes: Any) -> str:
    r = api.submit(**changes)
    assert r.status_code == 201, r.text
    return str(r.json()["claim_id"])


def _ring(api: Api) -> dict[str, str]:
    """Two people paid into one account, a variant of a third person's address, an honest one."""
    ids = {
        "a": _file(api, email="minsu.kim@example.com", phone="010-1111-2222",
                   payout_account="110-999-000111",
                   description="다음 메일로 면접 안내를 받기로 했는데 메일이 반송돼서 면접을 놓쳤습니다"),
        "b": _file(api, email="jiyoung.lee@example.com", phone="010-3333-4444",
                   payout_account="110-999-000111", description="보상은 언제 받을 수 있나요?"),
        "c": _file(api, email="soojin.park@example.com", phone="010-5555-6666",
                   payout_account="220-123-456789",
                   description="카카오페이 송금 오만원이 중간에 걸려서 상대방이 못 받았어요"),
        "d": _file(api, email="Soo.Jin.Park+kakao@example.com", phone="010-7777-8888",
                   payout_account="330-123-456789", description="직원분들 고생 많으셨습니다 힘내세요"),
    }
    return ids


def _screen(api: Api, model: TriageModel) -> screening.Summary:
    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    return screening.screen_batch(uow=UnitOfWork(api.engine), cipher=ctx.cipher, now=api.clock(),
                                  classifier=model)


def _queue(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.client.get("/staff/claims", params=params, headers=api.as_("admin"))
    assert r.status_code == 200, r.text
    return list(r.json()["claims"])


def test_batch_screening_stores_codes_groups_and_labels(api: Api, model: TriageModel) -> None:
    ids = _ring(api)
    summary = _screen(api, model)
    assert summary.claims == 4
    assert summary.by_code["SHARED_PAYOUT"] == 2
    assert summary.by_code["IDENTITY_VARIANT"] == 2
    with UnitOfWork(api.engine) as uow:
        rows = {k: uow.screening.get(v) for k, v in ids.items()}
    assert rows["a"] is not None
    assert rows["b"] is not None
    assert rows["d"] is not None
    assert rows["a"]["codes"].split() == ["SHARED_PAYOUT"]
    assert rows["a"]["score"] == 800
    assert rows["a"]["group_id"] == rows["b"]["group_id"] is not None
    assert rows["a"]["links"] == {"payout": [ids["b"]]}
    assert rows["a"]["label"] == "missed_communication"
    assert rows["a"]["damage"] is True
    assert rows["b"]["label"] == "question"
    assert rows["b"]["damage"] is False
    assert rows["d"]["codes"].split() == ["IDENTITY_VARIANT"]


def test_queue_filters_by_code_category_damage_and_sorts_by_score(api: Api, model: TriageModel
                                                                   ) -> None:
    ids = _ring(api)
    _screen(api, model)
    assert {c["id"] for c in _queue(api, code="SHARED_PAYOUT")} == {ids["a"], ids["b"]}
    assert [c["id"] for c in _queue(api, triage_category="payment_failed")] == [ids["c"]]
    assert {c["id"] for c in _queue(api, damage="no")} == {ids["b"], ids["d"]}
    assert {c["id"] for c in _queue(api, score_max=800)} == {ids["a"], ids["b"]}
    assert {c["id"] for c in _queue(api, code="IDENTITY_VARIANT")} == {ids["c"], ids["d"]}
    ordered = _queue(api, sort="score")
    assert [c["screening"]["score"] for c in ordered] == [800, 800, 850, 850]
    assert ordered[0]["screening"]["codes"] == ["SHARED_PAYOUT"]
    assert ordered[0]["screening"]["drivers"]


def test_duplicate_group_side_by_side_marks_shared_features(api: Api, model: TriageModel) -> None:
    ids = _ring(api)
    _screen(api, model)
    r = api.client.get(f"/staff/claims/{ids['a']}/duplicates", headers=api.as_("admin"))
    assert r.status_code == 200, r.text
    members = r.json()["members"]
    assert [m["claim_id"] for m in members] == sorted([ids["a"], ids["b"]])
    assert all(m["shared"] == ["payout"] for m in members)
    assert all(m["payout"].endswith("0111") for m in members)


def test_not_duplicate_decision_is_audited_and_respected_by_the_next_screening(
        api: Api, model: TriageModel) -> None:
    ids = _ring(api)
    _screen(api, model)
    r = api.client.post(f"/staff/claims/{ids['a']}/duplicates", headers=api.as_("admin"),
                        json={"other_claim_id": ids["b"], "duplicate": False,
                              "note": "부부가 한 계좌를 씁니다 (a married couple's account)"})
    assert r.status_code == 201, r.text
    audit = api.client.get(f"/staff/audit/claim/{ids['a']}", headers=api.as_("admin")).json()
    assert any(e["action"] == "claim.duplicate_decision" and e["after"]["duplicate"] is False
               for e in audit)
    _screen(api, model)
    with UnitOfWork(api.engine) as uow:
        a, b = uow.screening.get(ids["a"]), uow.screening.get(ids["b"])
    assert a is not None
    assert b is not None
    assert a["codes"].split() == []
    assert b["codes"].split() == []
    assert a["group_id"] is None
    assert a["score"] == 1000


def test_duplicate_decision_on_unknown_claim_is_404(api: Api) -> None:
    ids = _ring(api)
    r = api.client.post(f"/staff/claims/{ids['a']}/duplicates", headers=api.as_("admin"),
                        json={"other_claim_id": "no-such-claim", "duplicate": True})
    assert r.status_code == 404


def test_a_claim_screened_after_intake_finds_its_neighbours(api: Api, model: TriageModel) -> None:
    ids = _ring(api)
    _screen(api, model)
    new = _file(api, email="another.person@example.com", phone="010-9999-0000",
                payout_account="220-123-456789", description="카카오페이 결제가 안 돼서 편의점에서 못 샀어요")
    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    row = screening.screen_claim(uow=UnitOfWork(api.engine), cipher=ctx.cipher, claim_id=new,
                                 now=api.clock(), classifier=model)
    # Five claims from the test client within the hour: a burst too (weak on its own).
    assert row["codes"].split() == ["IP_BURST", "SHARED_PAYOUT"]
    assert row["links"] == {"payout": [ids["c"]]}
    assert row["label"] == "payment_failed"
    with UnitOfWork(api.engine) as uow:
        c = uow.screening.get(ids["c"])
    assert c is not None
    assert "SHARED_PAYOUT" in c["codes"].split()  # the neighbour gains it
    r = api.client.get(f"/staff/claims/{new}/duplicates", headers=api.as_("admin"))
    assert r.status_code == 200, r.text
    assert {m["claim_id"] for m in r.json()["members"]} == {new, ids["c"], ids["d"]}


def test_intake_screens_new_claims_in_the_background(api: Api) -> None:
    from fastapi.testclient import TestClient
    from tests.backends.claims_data import claim_body

    from makegood.entrypoints.api.app import create_app

    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    app = create_app(ctx.settings, engine=api.engine, clock=api.clock, screen_at_intake=True)
    ids = []
    with TestClient(app) as client:
        for email, phone, account in (("first@example.com", "010-1000-2000", "110-222-333444"),
                                      ("second@example.com", "010-3000-4000", "220-333-444555")):
            r = client.post("/claims", json=claim_body(email=email, phone=phone,
                                                       payout_account=account),
                            headers={"X-Device-Id": "install-7f3a"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["claim_id"])
        app.state.ctx.screener.drain()
    with UnitOfWork(api.engine) as uow:
        first, second = uow.screening.get(ids[0]), uow.screening.get(ids[1])
    assert first is not None
    assert second is not None
    assert first["label"] == "missed_communication"
    assert second["links"] == {"device": [ids[0]]}  # two people on one device: linked
    assert second["group_id"] == first["group_id"] is not None
