"""What the demo tells a new user to try next, with commands that work on the run just made."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from makegood import policies as shipped_policies

# the account picked to explain: one with awards under the paid policy shows the most
PREFERRED_POLICY = "kakao-2022-paid"


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when under it."""
    relative = os.path.relpath(path)
    return shlex.quote(path.as_posix() if relative.startswith("..") else relative)


def pick_account(ledger: Path) -> tuple[str, str] | None:
    """(account id, policy id) of a real affected account in the ledger: among the first awards
    of the paid policy, the account with the most of them (only the head of the file is read)."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(ledger)
    columns = ["account_id", "policy_id"]
    head = dataset.head(2_000, columns=columns, filter=ds.field("policy_id") == PREFERRED_POLICY)
    if head.num_rows == 0:
        head = dataset.head(1, columns=columns)
    if head.num_rows == 0:
        return None
    counts: dict[str, int] = {}
    for account in head.column("account_id").to_pylist():
        counts[account] = counts.get(account, 0) + 1
    account = max(counts, key=lambda a: (counts[a], -list(counts).index(a)))
    return account, head.column("policy_id")[0].as_py()


def demo_next_steps(*, scenario: Path, ledger: Path) -> list[str]:
    lines = ["", "Try next (makegood is .venv/bin/makegood, or run `source .venv/bin/activate` first):"]
    picked = pick_account(ledger)
    if picked is not None:
        account, policy_id = picked
        lines += [
            f"  # why account {account} got what it got, each award in words, checked against the ledger",
            f"  makegood explain --account {account} --incident {shown(scenario / 'incident.toml')} "
            f"--policy {shown(shipped_policies.path(policy_id))} --accounts {shown(scenario)} "
            f"--ledger {shown(ledger)}",
        ]
    lines += [
        f"  # the ledger, one row per award: {shown(ledger)}; its totals: {shown(ledger)}.summary.json",
        "  # the claims portal and the staff console on demo data, in a browser",
        "  makegood serve --demo",
    ]
    return lines
