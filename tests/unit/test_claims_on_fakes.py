"""The claims use cases against the in-memory ports (tests/fakes.py): no database involved.

Services depend on the ports only, so the same use case runs on SQLite, PostgreSQL or these
fakes; the storage tests (tests/backends/) run them on the real databases.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.backends.claims_data import INCIDENT, POLICY, SUBSCRIPTIONS
from tests.fakes import FakeStore

from makegood.adapters.db.crypto import Cipher, load_key
from makegood.adapters.tables import load_accounts, resolve
from makegood.domain.claims import Action, Category, ClaimantKind, Status
from makegood.domain.errors import InputError
from makegood.domain.staff import Role
from makegood.services import claims, staff

NOW = datetime(2022, 10, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> FakeStore:
    store = FakeStore()
    staff.put_policy(uow=store.uow(), document=POLICY, actor=staff.SYSTEM, now=NOW)
    staff.put_incident(uow=store.uow(), document=INCIDENT, policy_id="kakao-2022-claims",
                       ledger_path=None, intake_opens=None, intake_closes=None,
                       actor=staff.SYSTEM, now=NOW)
    (tmp_path / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    staff.import_accounts(uow=store.uow(),
                          accounts=load_accounts(resolve(tmp_path / "subscriptions.csv")),
                          actor=staff.SYSTEM, now=NOW)
    return store


@pytest.fixture
def cipher(tmp_path: Path) -> Cipher:
    return Cipher(load_key(None, tmp_path / "secret.key"))


def claim(**changes: object) -> claims.ClaimInput:
    values: dict[str, object] = dict(
        incident_id="kakao-2022-10-15", claimant_kind=ClaimantKind.INDIVIDUAL, name="김민수",
        email="minsu@example.com", phone="010-1234-5678", account_id="acct-paid",
        service="music", category=Category.MISSED_COMMUNICATION,
        start=datetime(2022, 10, 15, 8, 0, tzinfo=UTC), end=datetime(2022, 10, 15, 9, 0, tzinfo=UTC),
        description="음악을 듣지 못했습니다", amount=Decimal(10900), currency="KRW", consent=True)
    values.update(changes)
    return claims.ClaimInput(**values)  # type: ignore[arg-type]


def test_a_submission_stores_the_claim_its_audit_entry_and_its_key_together(store, cipher):
    receipt = claims.submit(uow=store.uow(), claim=claim(), cipher=cipher, now=NOW,
                            client="10.0.0.1", idempotency_key="k-1")
    stored = store.state.claims[receipt.claim_id]
    assert stored.status is Status.SUBMITTED
    assert stored.name == "김민수"
    assert [e.action for e in store.state.audit if e.entity_id == receipt.claim_id] == [
        "claim.submit"]
    assert store.state.idempotency["k-1"].claim_id == receipt.claim_id


def test_a_retry_under_the_same_key_answers_as_the_first_time_and_stores_nothing(store, cipher):
    first = claims.submit(uow=store.uow(), claim=claim(), cipher=cipher, now=NOW,
                          client="10.0.0.1", idempotency_key="k-1")
    before = copy.deepcopy(store.state)
    again = claims.submit(uow=store.uow(), claim=claim(), cipher=cipher, now=NOW,
                          client="10.0.0.1", idempotency_key="k-1")
    assert again.replayed
    assert (again.claim_id, again.receipt_token) == (first.claim_id, first.receipt_token)
    assert store.state == before


def test_a_refused_decision_changes_nothing(store, cipher):
    receipt = claims.submit(uow=store.uow(), claim=claim(), cipher=cipher, now=NOW)
    staff.add_user(uow=store.uow(), username="lee", password="correct horse battery",
                   role=Role.REVIEWER, actor=staff.SYSTEM, now=NOW)
    reviewer = staff.get_user(uow=store.uow(), username="lee")
    before = copy.deepcopy(store.state)
    with pytest.raises(InputError, match="reason code"):
        staff.decide(uow=store.uow(), actor=reviewer, claim_id=receipt.claim_id,
                     action=Action.DENY, now=NOW)
    assert store.state == before


def test_an_approval_is_one_decision_one_audit_entry_and_the_new_status(store, cipher):
    receipt = claims.submit(uow=store.uow(), claim=claim(), cipher=cipher, now=NOW)
    staff.add_user(uow=store.uow(), username="lee", password="correct horse battery",
                   role=Role.REVIEWER, actor=staff.SYSTEM, now=NOW)
    reviewer = staff.get_user(uow=store.uow(), username="lee")
    updated = staff.decide(uow=store.uow(), actor=reviewer, claim_id=receipt.claim_id,
                           action=Action.APPROVE, amount=Decimal(5000), now=NOW,
                           second_approval_above=Decimal(100000))
    assert updated == store.state.claims[receipt.claim_id]
    assert updated.status is Status.APPROVED
    assert updated.approved_amount == Decimal(5000)
    assert [(d.action, d.username) for d in store.state.decisions] == [(Action.APPROVE, "lee")]
    assert store.state.audit[-1].action == "claim.approve"
