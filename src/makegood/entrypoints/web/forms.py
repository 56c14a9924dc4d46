"""The claim form: its fields as text (what a draft stores), and their checks with messages in
the reader's language, each next to its field.

Times are typed in the incident's local time as text (``2022-10-15 16:00``: the same on every
device and by keyboard alone) and become aware UTC here. What the form cannot check alone (the
incident's intake, the affected services) the claims service checks; its :class:`InputError`
is shown next to the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from makegood.domain.accounts import WeeklySales
from makegood.domain.claims import Category, ClaimantKind, IntakeClosed, check_payout
from makegood.domain.errors import InputError
from makegood.domain.incident import nfc
from makegood.domain.verification import SalesReport
from makegood.entrypoints.web.words import N_
from makegood.services.claims import ClaimInput

Gettext = Callable[[str], str]

TEXT_FIELDS = ("claimant_kind", "category", "name", "email", "phone", "account_id", "service",
               "feature", "start", "end", "description", "amount", "payout_method",
               "payout_account", "consent", "outage_week_sales", "baseline")
LIMITS = {"description": 5000, "baseline": 2000}
DEFAULT_LIMIT = 200
PAYOUT_METHODS = ("account_credit", "bank")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,19}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fields_from(form: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """The form's text fields over the draft's previous values (a saved draft keeps the rest)."""
    data = dict(previous)
    for name in TEXT_FIELDS:
        value = form.get(name)
        if isinstance(value, str):
            data[name] = value[:LIMITS.get(name, DEFAULT_LIMIT) + 1]  # one more: "too long"
    if "details" in form and "consent" not in form:
        data["consent"] = ""
    return data


def _local(text: str, tz: ZoneInfo) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def check(data: Mapping[str, Any], *, incident_id: str, services: tuple[str, ...],
          tz: ZoneInfo, currency: str, _: Gettext) -> tuple[ClaimInput | None, dict[str, str]]:
    """The claim, or the messages by field."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = str(data.get(name) or "")
        limit = LIMITS.get(name, DEFAULT_LIMIT)
        if _CONTROL.search(value):
            errors[name] = _("Remove the control characters from this field.")
        elif len(value) > limit:
            errors[name] = _("This is too long: at most {count} characters.").format(count=limit)
        return nfc(value)

    def required(name: str) -> str:
        value = text(name)
        if not value and name not in errors:
            errors[name] = _("This field is required.")
        return value

    kind = text("claimant_kind")
    if kind not in {k.value for k in ClaimantKind}:
        errors["claimant_kind"] = _("Choose who is filing.")
    category = text("category")
    if category not in {c.value for c in Category}:
        errors["category"] = _("Choose what happened.")
    name = required("name")
    email = required("email")
    if email and not _EMAIL.match(email):
        errors["email"] = _("Enter an email address such as name@example.com.")
    phone = required("phone")
    if phone and not _PHONE.match(phone):
        errors["phone"] = _("Enter a phone number such as 010-1234-5678.")
    account_id = required("account_id")
    service = required("service")
    if service and service not in services:
        errors["service"] = _("Choose one of the affected services.")
    feature = text("feature")
    start = _local(required("start"), tz) if data.get("start") else None
    if data.get("start") and start is None:
        errors["start"] = _("Enter a date and time.")
    end = _local(required("end"), tz) if data.get("end") else None
    if data.get("end") and end is None:
        errors["end"] = _("Enter a date and time.")
    if start and end and end <= start:
        errors["end"] = _("The end must be after the start.")
    description = required("description")
    amount_text = text("amount") or "0"
    amount = _decimal(amount_text)
    if amount is None:
        errors["amount"] = _("Enter an amount in numbers, such as 30000.")
    elif amount < 0:
        errors["amount"] = _("The amount cannot be negative.")
    elif amount >= Decimal("1e15"):
        errors["amount"] = _("The amount is too large.")
    method = text("payout_method") or "account_credit"
    payout: str | None = None
    if method not in PAYOUT_METHODS:
        errors["payout_method"] = _("Choose how you want to be paid.")
    elif method == "bank":
        try:
            payout = check_payout(required("payout_account"))
        except InputError:
            errors.setdefault("payout_account", _("Enter a bank account number (digits and dashes)."))
    if text("consent") != "yes":
        errors["consent"] = _("You must agree to the processing of your data to file a claim.")
    sales = None
    if kind == ClaimantKind.SMALL_BUSINESS.value and category == Category.BUSINESS_SALES.value:
        sales = _sales(text("outage_week_sales"), text("baseline"), errors, _)
    if errors or not (start and end and amount is not None):
        return None, errors
    claim = ClaimInput(
        incident_id=incident_id, claimant_kind=ClaimantKind(kind), name=name, email=email,
        phone=phone, account_id=account_id, service=service, category=Category(category),
        start=start, end=end, description=description, amount=amount, currency=currency,
        consent=True, feature=feature or None, payout_account=payout, sales=sales)
    return claim, errors


def _sales(outage: str, baseline: str, errors: dict[str, str], _: Gettext) -> SalesReport | None:
    outage_amount = _decimal(outage) if outage else None
    if outage_amount is None or outage_amount < 0:
        errors["outage_week_sales"] = _("Enter the sales of the outage week in numbers.")
    weeks: list[WeeklySales] = []
    for number, line in enumerate(baseline.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.replace(",", " ").split()
        try:
            week = date.fromisoformat(parts[0])
            amount = _decimal("".join(parts[1:]))
        except (ValueError, IndexError):
            amount = None
        if amount is None or len(parts) < 2:
            errors["baseline"] = _("Line {number}: write a week's first day and its sales, "
                                   "such as 2022-09-03 1200000.").format(number=number)
            return None
        weeks.append(WeeklySales(week, amount))
    if not weeks and "baseline" not in errors:
        errors["baseline"] = _("Give the sales of at least one earlier week.")
    if errors.get("outage_week_sales") or errors.get("baseline") or outage_amount is None:
        return None
    return SalesReport(outage_amount, tuple(weeks))


FIELD_MESSAGES: dict[str, str] = {
    "incident_id": N_("Claims for this incident are not being accepted now."),
    "service": N_("The incident did not affect this service."),
    "sales": N_("A small business claiming lost sales must give its weekly sales."),
    "payout_account": N_("Enter a bank account number (digits and dashes)."),
    "email": N_("Enter an email address such as name@example.com."),
    "phone": N_("Enter a phone number such as 010-1234-5678."),
    "end": N_("The end must be after the start."),
    "amount": N_("Enter an amount in numbers, such as 30000."),
    "consent": N_("You must agree to the processing of your data to file a claim."),
}


def service_error(exc: InputError, _: Gettext) -> tuple[str, str]:
    """A claims-service error as (field, message in the reader's language)."""
    field = exc.field or "form"
    if field == "sales":
        field = "baseline"
    if isinstance(exc, IntakeClosed):
        return "form", _("Claims for this incident are not being accepted now.")
    message = FIELD_MESSAGES.get(exc.field or "")
    return field, _(message) if message else _("Check this field: {problem}").format(
        problem=exc.problem)
