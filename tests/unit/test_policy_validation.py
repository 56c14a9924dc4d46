"""Bad policies give one error that names the file, the rule and the field."""

import pytest

from makegood.domain.errors import PolicyError
from makegood.domain.policy import load_policy

HEAD = '[policy]\nid = "p"\nversion = 1\nname = "p"\ncurrency = "KRW"\n'


def error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(text, file="bad.toml")
    return info.value


def test_unknown_rule_kind_names_the_rule_and_field():
    e = error(HEAD + '[[rules]]\nid = "r1"\nkind = "double_or_nothing"\n')
    assert (e.file, e.rule, e.field) == ("bad.toml", "r1", "kind")
    assert "unknown rule kind 'double_or_nothing'" in str(e)


def test_malformed_toml_names_the_line():
    e = error(HEAD + "[[rules]\n")
    assert e.line == 6
    assert str(e).startswith("bad.toml, line 6: malformed TOML")


def test_unknown_option_is_not_silently_ignored():
    e = error(HEAD + '[[rules]]\nid = "r1"\nkind = "goodwill"\nitem = "x"\nquantiy = "2"\n')
    assert (e.rule, e.field) == ("r1", "quantiy")


def test_missing_required_field():
    e = error(HEAD + '[[rules]]\nid = "r1"\nkind = "fee_multiple"\n')
    assert (e.rule, e.field) == ("r1", "multiplier")
    assert "is required" in str(e)


def test_money_written_as_a_float_is_refused():
    e = error(HEAD + '[[rules]]\nid = "r1"\nkind = "fixed"\namount = 0.1\n')
    assert e.field == "amount"
    assert "not a float" in str(e)


def test_negative_amount_is_refused():
    e = error(HEAD + '[[rules]]\nid = "r1"\nkind = "fixed"\namount = "-5"\n')
    assert "must not be negative" in str(e)


def test_bad_currency_and_duplicate_rule_ids():
    assert error(HEAD.replace("KRW", "won") + '[[rules]]\nid = "a"\nkind = "fixed"\namount = "1"\n'
                 ).field == "policy.currency"
    dup = '[[rules]]\nid = "a"\nkind = "fixed"\namount = "1"\n'
    assert "duplicate rule id" in str(error(HEAD + dup + dup))


def test_unknown_service_in_eligibility_is_refused_against_what_is_known():
    policy = load_policy(HEAD + '[[rules]]\nid = "r1"\nkind = "fixed"\namount = "1"\n'
                         'when = { services = ["musik"] }\n', file="p.toml")
    with pytest.raises(PolicyError) as info:
        policy.check_services({"music", "messenger"}, file="p.toml")
    assert (info.value.rule, info.value.field) == ("r1", "when.services")
    assert "unknown service 'musik'" in str(info.value)


def test_bad_enum_in_filter():
    e = error(HEAD + '[[rules]]\nid = "r1"\nkind = "fixed"\namount = "1"\n'
              'when = { channels = ["shop"] }\n')
    assert e.field == "when.channels"


def test_policy_without_rules():
    assert "rules" in str(error(HEAD))
