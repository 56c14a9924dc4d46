"""Key rotation: every stored secret re-encrypted with the current key, in batches that commit
as they go, so that a rotation stopped by a crash is finished by running it again.

The secrets are the payout accounts (``claims.payout_encrypted``), the stored first answers
of idempotent submissions, which hold receipt tokens (``idempotency_keys.response``), the
payees' bank details (``payout_payees.details_encrypted``), the claim forms saved on the
portal to finish later (``web_drafts.data``, with their contact and resume token), and the
sealed links of notices not sent yet (``notices.sealed``). A value
is re-encrypted in memory (:meth:`Cipher.rotate`) and written back; no plaintext is written
anywhere, logged, or kept beyond the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db import notice_tables as nt
from makegood.adapters.db import payout_tables as pt
from makegood.adapters.db import schema as t
from makegood.adapters.db.crypto import Cipher

# (table, primary key column, encrypted column)
SECRETS = (
    (t.claims, t.claims.c.id, t.claims.c.payout_encrypted),
    (t.idempotency_keys, t.idempotency_keys.c.key, t.idempotency_keys.c.response),
    (pt.payout_payees, pt.payout_payees.c.id, pt.payout_payees.c.details_encrypted),
    (t.web_drafts, t.web_drafts.c.token_hash, t.web_drafts.c.data),  # saved claim forms (web)
    (t.web_drafts, t.web_drafts.c.token_hash, t.web_drafts.c.contact),
    (t.web_drafts, t.web_drafts.c.token_hash, t.web_drafts.c.sealed),
    (nt.notices, nt.notices.c.id, nt.notices.c.sealed),  # links with receipt or resume tokens
)


@dataclass
class Rotated:
    examined: int = 0
    rewritten: int = 0


def stale(engine: Engine, cipher: Cipher) -> int:
    """How many stored secrets are not under the current key."""
    count = 0
    with engine.connect() as conn:
        for _table, _key, column in SECRETS:
            for (value,) in conn.execute(sa.select(column).where(column.is_not(None))):
                count += not cipher.is_current(value)
    return count


def reencrypt(engine: Engine, cipher: Cipher, *, batch: int = 500,
              progress: Callable[[Rotated], None] | None = None) -> Rotated:
    """Re-encrypt every stored secret that is not under the current key."""
    done = Rotated()
    for table, key, column in SECRETS:
        after: object = None
        while True:
            query = sa.select(key, column).where(column.is_not(None)).order_by(key).limit(batch)
            if after is not None:
                query = query.where(key > after)
            with engine.begin() as conn:
                rows = conn.execute(query).all()
                if not rows:
                    break
                for row_key, value in rows:
                    done.examined += 1
                    if cipher.is_current(value):
                        continue
                    # Compare and set: a value changed meanwhile is left for the next pass.
                    result = conn.execute(sa.update(table).where(key == row_key, column == value)
                                          .values({column.name: cipher.rotate(value)}))
                    done.rewritten += result.rowcount
            after = rows[-1][0]
            if progress is not None:
                progress(done)
    return done
