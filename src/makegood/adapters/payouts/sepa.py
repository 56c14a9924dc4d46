"""SEPA credit transfers: ``pain.001.001.09`` built with ``sepaxml``, validated against the XSD
that ``sepaxml`` ships (offline). The message id is the batch id; each transaction's
``EndToEndId`` is our end-to-end id, which the bank's pain.002 and camt.054 report back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import sepaxml
from lxml import etree

from makegood.adapters.payouts.lines import Originator, PaymentLine, cents
from makegood.domain.errors import InputError

SCHEMA = "pain.001.001.09"
XSD = Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"


def write_sepa(lines: Sequence[PaymentLine], *, batch_id: str, originator: Originator,
               execution_date: date) -> bytes:
    transfer = sepaxml.SepaTransfer({"name": originator.name, "IBAN": originator.iban,
                                     "BIC": originator.bic, "batch": True, "currency": "EUR"},
                                    schema=SCHEMA, clean=True)
    transfer.msg_id = batch_id
    # sepaxml draws a random message id; ours is the batch id, which pain.002 quotes back.
    transfer._xml.find("CstmrCdtTrfInitn/GrpHdr/MsgId").text = batch_id
    for n, line in enumerate(lines, 1):
        if line.currency != "EUR":
            raise InputError(f"SEPA pays EUR only, not {line.currency}", row=n, field="currency")
        payment = {"name": line.holder, "IBAN": line.details["iban"],
                   "amount": cents(line.amount, where="amount"),
                   "execution_date": execution_date, "description": line.memo,
                   "endtoend_id": line.end_to_end_id}
        if line.details.get("bic"):
            payment["BIC"] = line.details["bic"]
        transfer.add_payment(payment)
    data: bytes = transfer.export(validate=False)
    validate(data)
    return data


def validate(data: bytes) -> None:
    """Validate a pain.001.001.09 document against the XSD; InputError names the first fault."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    if not schema.validate(doc):
        err = schema.error_log.last_error
        raise InputError(f"not valid {SCHEMA}: {err.message}", line=err.line)
