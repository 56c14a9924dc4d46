"""`makegood payouts` refuses bad input in one line with the file, line and field, and maps the
error tree to exit codes: 2 bad input, 3 not found, 4 conflict, 5 permission denied."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backends.claims_data import INCIDENT
from typer.testing import CliRunner

from makegood.entrypoints.cli.main import app

PASSWORD = "a long enough password"


class Cli:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {"MAKEGOOD_PASSWORD": PASSWORD,
                    "MAKEGOOD_DATABASE_URL": f"sqlite:///{cwd / 'makegood.db'}"}

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=self.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        run = Cli(tmp_path)
        assert run("db", "upgrade")[0] == 0
        (tmp_path / "incident.toml").write_text(INCIDENT, encoding="utf-8")
        assert run("db", "load", "--incident", "incident.toml")[0] == 0
        assert run("users", "add", "admin", "--role", "admin")[0] == 0
        assert run("users", "add", "rita", "--role", "reviewer")[0] == 0
        yield run
    finally:
        os.chdir(before)


def test_a_payees_file_with_a_bad_iban_names_line_and_field_and_stores_nothing(cli: Cli) -> None:
    (cli.cwd / "payees.csv").write_text(
        "payee_id,method,holder,bank_code,account_number,iban,bic,routing_number,account_type,"
        "address\n"
        "A1,kr_bulk,김민수,090,3333012345678,,,,,\n"
        "A2,sepa,Anna Schmidt,,,DE89370400440532013001,,,,\n", encoding="utf-8")
    code, _, err = cli("payouts", "payees", "import", "payees.csv", "--as", "admin")
    assert code == 2
    assert err.startswith("error: payees.csv, line 3, field 'iban': ")
    assert "Traceback" not in err
    code, _, err = cli("payouts", "payees", "set", "A1", "--method", "kr_bulk", "--holder", "김민수",
                       "--bank-code", "090", "--account-number", "3333-01-234567", "--as", "admin")
    assert code == 2
    assert "field 'account_number'" in err
    assert "13 digits, not 12" in err


def test_an_unknown_batch_is_not_found(cli: Cli) -> None:
    code, _, err = cli("payouts", "review", "PB99999", "--as", "admin")
    assert (code, err.strip()) == (3, "error: no payout batch 'PB99999'")


def test_a_reviewer_may_not_prepare_a_batch(cli: Cli) -> None:
    code, _, err = cli("payouts", "prepare", "--incident", "kakao-2022-10-15", "--method",
                       "kr_bulk", "--currency", "KRW", "--as", "rita")
    assert code == 5
    assert "may not supervise" in err


def test_an_unknown_method_names_the_option(cli: Cli) -> None:
    code, _, err = cli("payouts", "prepare", "--incident", "kakao-2022-10-15", "--method",
                       "paypal", "--currency", "KRW", "--as", "admin")
    assert code == 2
    assert "field '--method': 'paypal' is not one of sepa, nacha, kr_bulk" in err


def test_a_report_that_is_not_xml_or_csv_names_the_file_and_line(cli: Cli) -> None:
    (cli.cwd / "camt.xml").write_text("<?xml version='1.0'?>\n<Document><camt.054", "utf-8")
    code, _, err = cli("payouts", "reconcile", "camt.xml", "--as", "admin")
    assert code == 2
    assert "camt.xml, line 2: is not well-formed XML" in err


def test_a_wrong_password_is_refused(cli: Cli) -> None:
    cli.env["MAKEGOOD_PASSWORD"] = "not the password at all"
    code, _, err = cli("payouts", "list", "--as", "admin")
    assert code == 5
    assert "wrong user name or password" in err
