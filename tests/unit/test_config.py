"""Settings come from the environment, in one module, and every variable is documented."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

import makegood
from makegood import bootstrap
from makegood.config import Settings
from makegood.domain.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_the_code_reads_is_in_the_operations_guide():
    read = set()
    for path in Path(makegood.__file__).parent.rglob("*.py"):
        read |= set(re.findall(r"MAKEGOOD_[A-Z][A-Z_]+", path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"`(MAKEGOOD_[A-Z_]+)`",
                                (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")))
    assert read - documented == set()


def test_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("MAKEGOOD_SECOND_APPROVAL_ABOVE", "off")
    monkeypatch.setenv("MAKEGOOD_RATE_LIMIT_PER_MINUTE", "30")
    monkeypatch.setenv("MAKEGOOD_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")
    monkeypatch.setenv("MAKEGOOD_SPARK_MASTER", "spark://127.0.0.1:7077")
    settings = Settings.from_env()
    assert settings.database_url == f"sqlite:///{tmp_path}/x.db"
    assert settings.second_approval_above is None
    assert settings.rate_limit_per_minute == 30
    assert settings.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert bootstrap.engines(settings).options["spark"] == {"master": "spark://127.0.0.1:7077"}
    # A command-line option wins over the setting for one run.
    assert bootstrap.engines(settings, spark_master="local[1]").options["spark"] == {
        "master": "local[1]"}


def test_the_servers_notify_worker_is_configured_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MAKEGOOD_NOTIFY_CONFIG", str(tmp_path / "notify.toml"))
    monkeypatch.setenv("MAKEGOOD_NOTIFY_AS_OF", "2022-10-17T12:00:00+09:00")
    settings = Settings.from_env()
    assert settings.notify_config == tmp_path / "notify.toml"
    assert settings.notify_as_of == "2022-10-17T12:00:00+09:00"
    monkeypatch.delenv("MAKEGOOD_NOTIFY_CONFIG")
    monkeypatch.delenv("MAKEGOOD_NOTIFY_AS_OF")
    assert Settings.from_env().notify_config is None


def test_defaults_when_nothing_is_set(monkeypatch):
    for name in ("MAKEGOOD_SECOND_APPROVAL_ABOVE", "MAKEGOOD_SPARK_MASTER",
                 "MAKEGOOD_DUCKDB_MEMORY_LIMIT", "MAKEGOOD_SESSION_HOURS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.second_approval_above == Decimal(500000)
    assert settings.spark_master == "local[2]"
    assert settings.duckdb_memory_limit == "3GB"
    assert settings.session_hours == 12


@pytest.mark.parametrize(("name", "value"), [("MAKEGOOD_SESSION_HOURS", "twelve"),
                                             ("MAKEGOOD_SECOND_APPROVAL_ABOVE", "lots")])
def test_a_bad_value_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as error:
        Settings.from_env()
    assert error.value.field == name
    assert repr(value) in str(error.value)


def test_payout_settings_are_read_in_the_same_place(monkeypatch, tmp_path):
    assert Settings.from_env().payout_four_eyes_above == Decimal(0)
    for value in ("none", "always", ""):
        monkeypatch.setenv("MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE", value)
        assert Settings.from_env().payout_four_eyes_above is None  # every batch: two people
    monkeypatch.setenv("MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE", "1000000")
    monkeypatch.setenv("MAKEGOOD_PAYOUT_NAME_REGISTER", str(tmp_path / "register.csv"))
    monkeypatch.setenv("MAKEGOOD_PAYOUT_ORIGINATOR_IBAN", " DE89370400440532013000 ")
    settings = Settings.from_env()
    assert settings.payout_four_eyes_above == Decimal(1000000)
    assert settings.payout_name_register == tmp_path / "register.csv"
    assert settings.payout_originator == {"iban": "DE89370400440532013000"}
    monkeypatch.setenv("MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE", "a lot")
    with pytest.raises(InputError, match="MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE"):
        Settings.from_env()


def test_the_public_address_must_be_an_absolute_http_address(monkeypatch):
    monkeypatch.setenv("MAKEGOOD_PUBLIC_URL", "https://claims.example.com/")
    assert Settings.from_env().public_url == "https://claims.example.com"
    monkeypatch.setenv("MAKEGOOD_PUBLIC_URL", "")
    assert Settings.from_env().public_url is None
    for bad in ("claims.example.com", "https://", "https://x.example/?a=1", "ftp://x.example"):
        monkeypatch.setenv("MAKEGOOD_PUBLIC_URL", bad)
        with pytest.raises(InputError) as caught:
            Settings.from_env()
        assert caught.value.field == "MAKEGOOD_PUBLIC_URL"
