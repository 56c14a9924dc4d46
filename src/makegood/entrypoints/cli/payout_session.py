"""What every `makegood payouts` command shares: the database, the signed-in staff member, the
key, the name check and the payout settings from the environment."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from makegood.adapters.payouts.details import NameCheck
    from makegood.adapters.payouts.lines import Originator
    from makegood.domain.payouts import Method
    from makegood.services.payouts import Cipher
    from makegood.services.staff import StaffUser

AsUser = Annotated[str, typer.Option("--as", help="The acting staff member's user name.")]
IncidentOpt = Annotated[str, typer.Option("--incident", help="The incident id.")]


def now() -> datetime:
    return datetime.now(UTC)


def engine() -> Engine:
    from makegood.adapters.db.config import Settings
    from makegood.adapters.db.engine import make_engine

    return make_engine(Settings.from_env().database_url)


def sign_in(engine: Engine, username: str) -> StaffUser:
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services import staff

    password = os.environ.get("MAKEGOOD_PASSWORD") or typer.prompt(
        f"Password for {username}", hide_input=True)
    token = staff.login(uow=UnitOfWork(engine), username=username, password=password,
                        now=now(), hours=1)
    return staff.authenticate(uow=UnitOfWork(engine), token=token, now=now())


def cipher() -> Cipher:
    from makegood.adapters.db.config import Settings
    from makegood.adapters.db.crypto import Cipher, load_key

    settings = Settings.from_env()
    return Cipher(load_key(settings.secret_key, settings.secret_key_file))


def name_check() -> NameCheck:
    from makegood.adapters.payouts.details import NoNameCheck, RegisterNameCheck

    register = os.environ.get("MAKEGOOD_PAYOUT_NAME_REGISTER")
    return RegisterNameCheck.from_csv(Path(register)) if register else NoNameCheck()


def four_eyes() -> Decimal | None:
    from makegood.domain.money import to_decimal

    raw = os.environ.get("MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE", "0").strip()
    if raw.lower() in ("", "none", "always"):
        return None
    return to_decimal(raw, field="MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE")


def originator() -> Originator:
    from makegood.adapters.payouts.lines import Originator

    base = Originator()
    env = os.environ.get
    return Originator(name=env("MAKEGOOD_PAYOUT_ORIGINATOR_NAME", base.name),
                      iban=env("MAKEGOOD_PAYOUT_ORIGINATOR_IBAN", base.iban),
                      bic=env("MAKEGOOD_PAYOUT_ORIGINATOR_BIC", base.bic),
                      routing_number=env("MAKEGOOD_PAYOUT_ORIGINATOR_ROUTING",
                                         base.routing_number),
                      company_id=env("MAKEGOOD_PAYOUT_ORIGINATOR_COMPANY_ID", base.company_id),
                      bank_name=env("MAKEGOOD_PAYOUT_ORIGINATOR_BANK", base.bank_name))


def method(text: str) -> Method:
    from makegood.domain.errors import InputError
    from makegood.domain.payouts import Method

    try:
        return Method(text)
    except ValueError:
        raise InputError(f"{text!r} is not one of {', '.join(m.value for m in Method)}",
                         field="--method") from None
