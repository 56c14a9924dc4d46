"""Generators of the bank's reports, for tests and the demo walkthrough: what a bank sends
back after a payment file, as pain.002.001.10 and camt.054.001.08 documents.

``rejected`` and ``returned`` map end-to-end ids to ISO reason codes (AC01 wrong account
number, AC04 closed account, AC06 blocked account, MS03 not specified); every other payment is
accepted (pain.002) or booked (camt.054).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class Sent:
    end_to_end_id: str
    amount: Decimal
    currency: str


def pain002(sent: Sequence[Sent], *, message_id: str, rejected: Mapping[str, str],
            created: datetime) -> bytes:
    txs = []
    for s in sent:
        reason = rejected.get(s.end_to_end_id)
        status = "RJCT" if reason else "ACCP"
        why = (f"<StsRsnInf><Rsn><Cd>{escape(reason)}</Cd></Rsn></StsRsnInf>" if reason else "")
        txs.append(
            f"<TxInfAndSts><OrgnlEndToEndId>{escape(s.end_to_end_id)}</OrgnlEndToEndId>"
            f"<TxSts>{status}</TxSts>{why}<OrgnlTxRef><Amt><InstdAmt Ccy=\"{s.currency}\">"
            f"{s.amount}</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>")
    group = "PART" if rejected else "ACCP"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>'
        f"<GrpHdr><MsgId>STS-{escape(message_id)}</MsgId><CreDtTm>{created.isoformat()}"
        "</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(message_id)}</OrgnlMsgId>"
        f"<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>{group}</GrpSts>"
        "</OrgnlGrpInfAndSts>"
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{escape(message_id)}</OrgnlPmtInfId>"
        + "".join(txs) + "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>\n").encode()


def camt054(sent: Sequence[Sent], *, message_id: str, returned: Mapping[str, str],
            booked: datetime, iban: str) -> bytes:
    entries = []
    day = booked.date().isoformat()
    for s in sent:
        tx = (f"<TxDtls><Refs><EndToEndId>{escape(s.end_to_end_id)}</EndToEndId></Refs>"
              f"<Amt Ccy=\"{s.currency}\">{s.amount}</Amt>")
        entries.append(
            f"<Ntry><Amt Ccy=\"{s.currency}\">{s.amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>"
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
            f"<NtryDtls>{tx}</TxDtls></NtryDtls></Ntry>")
        reason = returned.get(s.end_to_end_id)
        if reason:
            entries.append(
                f"<Ntry><Amt Ccy=\"{s.currency}\">{s.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
                f"<RvslInd>false</RvslInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt>"
                f"</BookgDt><NtryDtls>{tx}<RtrInf><Rsn><Cd>{escape(reason)}</Cd></Rsn>"
                "</RtrInf></TxDtls></NtryDtls></Ntry>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
        f"<GrpHdr><MsgId>NTF-{escape(message_id)}</MsgId><CreDtTm>{booked.isoformat()}"
        "</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>{escape(message_id)}</Id><CreDtTm>{booked.isoformat()}</CreDtTm>"
        f"<Acct><Id><IBAN>{escape(iban)}</IBAN></Id></Acct>"
        + "".join(entries) + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n").encode()


def csv_returns(rows: Sequence[tuple[str, str, Decimal, str, str]]) -> bytes:
    """(end_to_end_id, status, amount, currency, reason) rows as a CSV return file."""
    lines = ["end_to_end_id,status,amount,currency,reason"]
    lines += [f"{e},{s},{a},{c},{r}" for e, s, a, c, r in rows]
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------------------------
# Payees for the demo: seeded, valid-looking Korean bank accounts and the bank's name register.

PAYEE_COLUMNS = ("payee_id", "method", "holder", "bank_code", "account_number", "iban", "bic",
                 "routing_number", "account_type", "address")
_FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = "민서지현우준영수하은도윤예진성호아연태경"


def demo_payees(payee_ids: Sequence[str], *, seed: int) -> tuple[bytes, bytes]:
    """A payees CSV (Korean bulk transfer) and the matching name register CSV."""
    import random

    from makegood.domain.bank_details import KOREAN_BANKS

    rng = random.Random(seed)
    banks = sorted(KOREAN_BANKS.values(), key=lambda b: b.code)
    payees = [",".join(PAYEE_COLUMNS)]
    register = ["account_key,holder"]
    for pid in payee_ids:
        bank = rng.choice(banks)
        length = rng.choice(sorted(bank.lengths))
        account = "".join(rng.choice("0123456789") for _ in range(length))
        holder = rng.choice(_FAMILY) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
        payees.append(f"{pid},kr_bulk,{holder},{bank.code},{account},,,,,")
        register.append(f"{bank.code}:{account},{holder}")
    return (("\n".join(payees) + "\n").encode(), ("\n".join(register) + "\n").encode())
