"""Staff: the roles of the people who work the claims, what each may do, and how long a sign-in
that keeps failing must wait.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

# ---------------------------------------------------------------------------------------------
# Staff roles


class Role(StrEnum):
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"  # the queue, claims, the audit trail, exports
    REVIEW = "review"  # assign to oneself, verify, approve, deny, request information
    SUPERVISE = "supervise"  # appeals, second approvals, assigning others, bulk import
    ADMIN = "admin"  # users, incidents, policies, accounts, intake windows


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.AUDITOR: frozenset({Permission.READ}),
    Role.REVIEWER: frozenset({Permission.READ, Permission.REVIEW}),
    Role.SUPERVISOR: frozenset({Permission.READ, Permission.REVIEW, Permission.SUPERVISE}),
    Role.ADMIN: frozenset(Permission),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]


# ---------------------------------------------------------------------------------------------
# Sign-in throttling

FREE_SIGN_IN_FAILURES = 5  # failures within the window before back-off starts
SIGN_IN_WINDOW_SECONDS = 15 * 60
MAX_SIGN_IN_WAIT_SECONDS = 15 * 60


def sign_in_wait(failures: Sequence[datetime], now: datetime) -> int:
    """Seconds a user name must wait before the next sign-in attempt, from its recent failures.

    Five failures within 15 minutes are free (typos); then each further failure doubles the wait
    from 1 s, up to 15 minutes, counted from the last failure. The same for a known and an
    unknown name, so the wait tells nothing about which names exist.
    """
    recent = sorted(f for f in failures if (now - f).total_seconds() < SIGN_IN_WINDOW_SECONDS)
    extra = len(recent) - FREE_SIGN_IN_FAILURES
    if extra < 0:
        return 0
    wait = min(2 ** extra, MAX_SIGN_IN_WAIT_SECONDS)
    left = wait - (now - recent[-1]).total_seconds()
    return max(0, int(left + 0.999))
