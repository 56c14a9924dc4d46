"""Bank files out (SEPA, NACHA, Korean bulk CSV) and bank reports in (pain.002, camt, CSV)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from makegood.adapters.payouts import bank_reports, bank_sim, csv_files, nacha, sepa
from makegood.adapters.payouts.details import check_details
from makegood.adapters.payouts.lines import Originator, PaymentLine
from makegood.domain.errors import InputError
from makegood.domain.payouts import Method

NOW = datetime(2023, 3, 2, 9, 30, tzinfo=UTC)


def line(e2e: str, amount: str, currency: str, **details: str) -> PaymentLine:
    return PaymentLine(end_to_end_id=e2e, award_id=f"claim:{e2e}", payee_id=f"acct-{e2e}",
                       holder="김민수 Kim", amount=Decimal(amount), currency=currency, kind="cash",
                       memo="장애보상", details=details)


US_LINES = [line("PB00003-000001", "100.00", "USD", routing_number="021000021",
                 account_number="000123456789"),
            line("PB00003-000002", "7.55", "USD", routing_number="011000015",
                 account_number="9876543", account_type="savings")]


def test_nacha_file_has_94_character_records_in_blocks_of_ten_with_control_totals() -> None:
    text = nacha.write_nacha(US_LINES, batch_number=3, originator=Originator(),
                             effective=date(2023, 3, 3), created=NOW).decode("ascii")
    records = text.splitlines()
    assert all(len(r) == 94 for r in records)
    assert len(records) == 10  # 1 + 1 + 2 + 1 + 1 = 6 records, padded with nines to 10
    assert [r[0] for r in records[:6]] == ["1", "5", "6", "6", "8", "9"]
    assert records[6:] == ["9" * 94] * 4
    entry_hash = 2100002 + 1100001  # the receiving banks' 8-digit routing prefixes
    batch_control, file_control = records[4], records[5]
    assert batch_control[4:10] == "000002"
    assert batch_control[10:20] == f"{entry_hash:010d}"
    assert batch_control[32:44] == "000000010755"  # 100.00 + 7.55 USD in cents
    assert file_control[1:7] == "000001"
    assert file_control[7:13] == "000001"
    assert file_control[21:31] == f"{entry_hash:010d}"
    assert records[3][1:3] == "32"  # savings credit


def test_nacha_entry_carries_the_end_to_end_id_and_an_ascii_name() -> None:
    record = nacha.write_nacha(US_LINES[:1], batch_number=3, originator=Originator(),
                               effective=date(2023, 3, 3), created=NOW).decode().splitlines()[2]
    assert record[39:54] == "PB00003-000001 "
    assert record[54:76] == "GIMMINSU KIM".ljust(22)  # transliterated, upper case
    assert record[29:39] == "0000010000"


def test_nacha_refuses_an_id_that_an_ach_return_could_not_carry_back() -> None:
    too_long = [line("PB00003-0000001X", "1", "USD", routing_number="021000021",
                     account_number="12345")]
    with pytest.raises(InputError, match="15 characters"):
        nacha.write_nacha(too_long, batch_number=1, originator=Originator(),
                          effective=date(2023, 3, 3), created=NOW)


def test_sepa_file_validates_against_the_pain_001_001_09_schema() -> None:
    lines = [line("PB00002-000001", "12.50", "EUR", iban="DE89370400440532013000",
                  bic="COBADEFFXXX"),
             line("PB00002-000002", "7.25", "EUR", iban="FR1420041010050500013M02606")]
    data = sepa.write_sepa(lines, batch_id="PB00002", originator=Originator(),
                           execution_date=date(2023, 3, 3))
    sepa.validate(data)
    assert b"<MsgId>PB00002</MsgId>" in data
    assert b"<CtrlSum>19.75</CtrlSum>" in data
    broken = data.replace(b"<EndToEndId>PB00002-000001</EndToEndId>", b"")
    with pytest.raises(InputError, match=r"not valid pain\.001\.001\.09"):
        sepa.validate(broken)


def test_sepa_refuses_a_fraction_of_a_cent() -> None:
    with pytest.raises(InputError, match="fraction of a cent"):
        sepa.write_sepa([line("E1", "1.005", "EUR", iban="DE89370400440532013000")],
                        batch_id="PB1", originator=Originator(), execution_date=date(2023, 3, 3))


def test_korean_bulk_csv_refuses_a_long_memo_and_names_the_row() -> None:
    ok = line("PB1-000001", "30000", "KRW", bank_code="090", account_number="3333012345678")
    long_memo = replace(ok, memo="카카오 장애 피해 보상금 지급")
    with pytest.raises(InputError, match="row 2, field 'memo'"):
        csv_files.write_kr_bulk([ok, long_memo])
    with pytest.raises(InputError, match="whole number of won"):
        csv_files.write_kr_bulk([replace(ok, amount=Decimal("30000.5"))])


def test_iban_and_bic_are_checked_and_masked() -> None:
    details, masked = check_details(Method.SEPA, {"iban": "de89 3704 0044 0532 0130 00",
                                                  "bic": "COBADEFFXXX"})
    assert details["iban"] == "DE89370400440532013000"
    assert masked.endswith("3000")
    assert "0532" not in masked
    with pytest.raises(InputError, match="field 'bic'"):
        check_details(Method.SEPA, {"iban": "DE89370400440532013000", "bic": "NOTABIC"})


def test_pain002_round_trip_gives_accepted_and_rejected_lines_with_reasons() -> None:
    sent = [bank_sim.Sent("E1", Decimal("12.50"), "EUR"), bank_sim.Sent("E2", Decimal(7), "EUR")]
    data = bank_sim.pain002(sent, message_id="PB1", rejected={"E2": "AC01"}, created=NOW)
    kind, lines = bank_reports.read_report(data, file="pain002.xml")
    assert kind == "pain.002"
    assert [(x.end_to_end_id, x.kind, x.reason, x.amount) for x in lines] == [
        ("E1", "accepted", None, Decimal("12.50")), ("E2", "rejected", "AC01", Decimal(7))]


def test_camt054_round_trip_gives_booked_and_returned_lines() -> None:
    sent = [bank_sim.Sent("E1", Decimal(30000), "KRW"), bank_sim.Sent("E2", Decimal(50000), "KRW")]
    data = bank_sim.camt054(sent, message_id="N1", returned={"E2": "AC04"}, booked=NOW,
                            iban="DE89370400440532013000")
    kind, lines = bank_reports.read_report(data, file="camt054.xml")
    assert kind == "camt.054"
    assert [(x.end_to_end_id, x.kind, x.reason) for x in lines] == [
        ("E1", "booked", None), ("E2", "booked", None), ("E2", "returned", "AC04")]


def test_camt053_statement_with_a_plain_status_reads_the_same() -> None:
    data = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<NtryDtls><TxDtls><Refs><EndToEndId>E1</EndToEndId></Refs>
<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
    kind, lines = bank_reports.read_report(data, file="camt053.xml")
    assert kind == "camt.053"
    assert [(x.end_to_end_id, x.kind, x.reason, x.amount) for x in lines] == [
        ("E1", "returned", "AC04", Decimal("12.50"))]


def test_malformed_xml_names_the_file_and_line() -> None:
    with pytest.raises(InputError, match=r"camt\.xml, line 2: is not well-formed"):
        bank_reports.read_report(b"<?xml version='1.0'?>\n<Document camt.054><Ntry>",
                                 file="camt.xml")


def test_an_xml_entity_is_never_expanded() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
<OrgnlPmtInfAndSts><TxInfAndSts><OrgnlEndToEndId>&x;</OrgnlEndToEndId><TxSts>ACCP</TxSts>
</TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"""
    _, lines = bank_reports.read_report(data, file="evil.xml")
    assert lines[0].end_to_end_id in (None, "")


def test_csv_return_file_with_an_unknown_status_names_line_and_field() -> None:
    data = b"end_to_end_id,status,amount,currency,reason\nE1,paid,1,KRW,\nE2,bounced,1,KRW,AC04\n"
    with pytest.raises(InputError, match=r"returns\.csv, line 3, field 'status'"):
        bank_reports.read_report(data, file="returns.csv")
    with pytest.raises(InputError, match="missing column 'status'"):
        bank_reports.read_report(b"end_to_end_id\nE1\n", file="returns.csv")


def test_a_report_line_in_another_currency_is_noted_not_trusted() -> None:
    from makegood.adapters.db.payout_store import Item
    from makegood.services.payout_files import _differences

    item = Item("PB1-000001", "PB1", "claim:c1", "acct", Decimal(30000), "KRW", 1)
    report = bank_reports.BankLine("PB1-000001", "booked", Decimal(30), "USD", None, 1)
    assert _differences(report, item) == ["amount 30 differs from the 30000 sent",
                                          "currency USD differs from the KRW sent"]
