"""Saved claim forms (save and resume): a half-filled claim, encrypted with the service's key,
under the hash of its resume token; the token itself is only in the resume link."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from makegood.adapters.db.crypto import new_token, token_hash
from makegood.adapters.db.web_store import Drafts
from makegood.domain.errors import NotFound
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web.deps import sql

DRAFT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Draft:
    token: str
    incident_id: str
    data: dict[str, Any]
    expires_at: datetime


def save_draft(ctx: Context, *, incident_id: str, data: dict[str, Any], token: str | None = None
               ) -> Draft:
    token = token or new_token()
    when = ctx.clock()
    expires = when + timedelta(days=DRAFT_DAYS)
    blob = ctx.cipher.encrypt(json.dumps(data, ensure_ascii=False))
    with sql(ctx) as uow:
        Drafts(uow.conn).put(token_hash=token_hash(token), incident_id=incident_id, data=blob,
                             now=when, expires_at=expires)
        uow.commit()
    return Draft(token, incident_id, data, expires)


def load_draft(ctx: Context, token: str) -> Draft:
    with sql(ctx) as uow:
        row = Drafts(uow.conn).get(token_hash(token), ctx.clock())
    if row is None:
        raise NotFound("no saved claim with this link; it may have expired or been submitted")
    return Draft(token, row["incident_id"], json.loads(ctx.cipher.decrypt(row["data"])),
                 row["expires_at"])


def delete_draft(ctx: Context, token: str) -> None:
    with sql(ctx) as uow:
        Drafts(uow.conn).delete(token_hash(token))
        uow.commit()


def idempotency_key(token: str) -> str:
    """One draft files one claim, however often its submit button is pressed."""
    return "web-draft-" + hashlib.sha256(token.encode()).hexdigest()[:40]
