"""What every `makegood payouts` command shares: the database, the signed-in staff member, the
key, the name check and the payout settings from the environment."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from makegood.config import Settings

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
    from makegood.adapters.db.crypto import Cipher, load_key

    settings = Settings.from_env()
    return Cipher(load_key(settings.secret_key, settings.secret_key_file))


def name_check() -> NameCheck:
    from makegood.adapters.payouts.details import NoNameCheck, RegisterNameCheck

    register = Settings.from_env().payout_name_register
    return RegisterNameCheck.from_csv(register) if register else NoNameCheck()


def four_eyes() -> Decimal | None:
    return Settings.from_env().payout_four_eyes_above


def originator() -> Originator:
    from dataclasses import replace

    from makegood.adapters.payouts.lines import Originator

    base = Originator()
    given = Settings.from_env().payout_originator
    return replace(base, name=given.get("name", base.name), iban=given.get("iban", base.iban),
                   bic=given.get("bic", base.bic),
                   routing_number=given.get("routing_number", base.routing_number),
                   company_id=given.get("company_id", base.company_id),
                   bank_name=given.get("bank_name", base.bank_name))


def method(text: str) -> Method:
    from makegood.domain.errors import InputError
    from makegood.domain.payouts import Method

    try:
        return Method(text)
    except ValueError:
        raise InputError(f"{text!r} is not one of {', '.join(m.value for m in Method)}",
                         field="--method") from None
