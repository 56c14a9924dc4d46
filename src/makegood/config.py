"""makegood's settings, read from the environment in one place (every ``MAKEGOOD_*`` variable).

:class:`Settings` is what :mod:`makegood.bootstrap` wires into adapters for the CLI and the API;
docs/operations.md lists each variable, its default and its meaning. Command-line options
override the engine settings for one run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from makegood.domain.errors import InputError

DEFAULT_URL = "sqlite:///makegood.db"


def _decimal(name: str, default: str) -> Decimal | None:
    raw = os.environ.get(name, default).strip()
    if raw.lower() in ("", "none", "off", "always"):
        return None
    try:
        return Decimal(raw)
    except ArithmeticError:
        raise InputError(f"{raw!r} is not a number", field=name) from None


def _text(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return default if raw is None or not raw.strip() else raw.strip()


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{raw!r} is not a whole number", field=name) from None


def _public_url(name: str) -> str | None:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")) or "?" in raw or "#" in raw \
            or len(raw.split("://", 1)[1].strip("/")) == 0:
        raise InputError(f"{raw!r} is not an absolute http(s) address such as "
                         "https://claims.example.com", field=name)
    return raw.rstrip("/")


# The paying account's fields (adapters.payouts.lines.Originator) and their variables.
_ORIGINATOR = {"name": "MAKEGOOD_PAYOUT_ORIGINATOR_NAME",
               "iban": "MAKEGOOD_PAYOUT_ORIGINATOR_IBAN",
               "bic": "MAKEGOOD_PAYOUT_ORIGINATOR_BIC",
               "routing_number": "MAKEGOOD_PAYOUT_ORIGINATOR_ROUTING",
               "company_id": "MAKEGOOD_PAYOUT_ORIGINATOR_COMPANY_ID",
               "bank_name": "MAKEGOOD_PAYOUT_ORIGINATOR_BANK"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the API and the CLI need: storage, secrets, limits, engines."""

    database_url: str = DEFAULT_URL
    evidence_dir: Path = Path("makegood-evidence")
    secret_key: str | None = None
    secret_key_file: Path = Path(".makegood-secret.key")
    second_approval_above: Decimal | None = Decimal(500000)
    rate_limit_per_minute: int = 120
    evidence_max_bytes: int = 10 * 1024 * 1024
    session_hours: int = 12
    intake_connections: int = 8  # per server worker, for claim submissions on PostgreSQL
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For is believed
    redis_url: str | None = None  # rate limits shared by every worker and server
    spark_master: str = "local[2]"
    duckdb_memory_limit: str = "3GB"
    data_dir: Path = Path(".")  # where the console may read accounts for a run
    runs_dir: Path = Path("makegood-runs")  # where runs started from the console write
    notify_config: Path | None = None  # serve delivers notices with this configuration
    notify_as_of: str | None = None  # that worker judges the blast radius from this instant
    # The portal's address as claimants reach it: the links in notices (tracking, resume)
    # are built on it. Unset: notices carry no link and say what to do instead.
    public_url: str | None = None
    # Payouts (docs/payouts.md): batches above this total need a second person (None: every
    # batch, as 0);
    # the account holders' register for the name check; the paying account's details by field
    # of adapters.payouts.lines.Originator (unset fields keep the demo originator's).
    payout_four_eyes_above: Decimal | None = Decimal(0)
    payout_name_register: Path | None = None
    payout_originator: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("MAKEGOOD_DATABASE_URL", DEFAULT_URL),
            evidence_dir=Path(os.environ.get("MAKEGOOD_EVIDENCE_DIR", "makegood-evidence")),
            secret_key=os.environ.get("MAKEGOOD_SECRET_KEY") or None,
            secret_key_file=Path(os.environ.get("MAKEGOOD_SECRET_KEY_FILE", ".makegood-secret.key")),
            second_approval_above=_decimal("MAKEGOOD_SECOND_APPROVAL_ABOVE", "500000"),
            rate_limit_per_minute=_int("MAKEGOOD_RATE_LIMIT_PER_MINUTE", 120),
            evidence_max_bytes=_int("MAKEGOOD_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024),
            session_hours=_int("MAKEGOOD_SESSION_HOURS", 12),
            intake_connections=max(1, _int("MAKEGOOD_INTAKE_CONNECTIONS", 8)),
            redis_url=os.environ.get("MAKEGOOD_REDIS_URL") or None,
            trusted_proxies=tuple(p.strip() for p in os.environ.get(
                "MAKEGOOD_TRUSTED_PROXIES", "").split(",") if p.strip()),
            spark_master=_text("MAKEGOOD_SPARK_MASTER", "local[2]"),
            duckdb_memory_limit=_text("MAKEGOOD_DUCKDB_MEMORY_LIMIT", "3GB"),
            data_dir=Path(os.environ.get("MAKEGOOD_DATA_DIR") or "."),
            runs_dir=Path(os.environ.get("MAKEGOOD_RUNS_DIR") or "makegood-runs"),
            notify_config=Path(os.environ["MAKEGOOD_NOTIFY_CONFIG"])
            if os.environ.get("MAKEGOOD_NOTIFY_CONFIG", "").strip() else None,
            notify_as_of=os.environ.get("MAKEGOOD_NOTIFY_AS_OF", "").strip() or None,
            public_url=_public_url("MAKEGOOD_PUBLIC_URL"),
            payout_four_eyes_above=_decimal("MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE", "0"),
            payout_name_register=Path(os.environ["MAKEGOOD_PAYOUT_NAME_REGISTER"])
            if os.environ.get("MAKEGOOD_PAYOUT_NAME_REGISTER", "").strip() else None,
            payout_originator={name: os.environ[var].strip() for name, var in _ORIGINATOR.items()
                               if os.environ.get(var, "").strip()},
        )
