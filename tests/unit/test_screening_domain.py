"""The screening score: 1,000 points, documented deductions, never rejection on one criterion."""

import pytest

from makegood.domain.screening import (
    DEDUCTIONS,
    REJECT_BELOW,
    Recommendation,
    deletion_keys,
    mailbox,
    one_edit_apart,
    screen,
)


def test_a_claim_without_deductions_keeps_1000_points_and_is_clear():
    result = screen([])
    assert (result.score, result.codes, result.recommendation) == (1000, (), Recommendation.CLEAR)


def test_worked_example_shared_payout_near_duplicate_and_burst_is_600_and_reject():
    result = screen(["IP_BURST", "SHARED_PAYOUT", "NEAR_DUPLICATE_TEXT"])
    assert result.score == 1000 - 200 - 150 - 50 == 600
    assert result.codes == ("IP_BURST", "SHARED_PAYOUT", "NEAR_DUPLICATE_TEXT")
    assert result.recommendation is Recommendation.REJECT


@pytest.mark.parametrize("code", sorted(DEDUCTIONS))
def test_no_single_code_ever_leads_to_rejection(code):
    result = screen([code])
    assert result.recommendation is Recommendation.REVIEW
    assert result.score >= REJECT_BELOW


def test_each_code_counts_once():
    assert screen(["IP_BURST", "IP_BURST"]).score == 950


def test_every_code_has_a_weight_and_a_meaning_in_english_and_korean():
    for d in DEDUCTIONS.values():
        assert d.weight > 0
        assert d.en.strip()
        assert d.ko.strip()
        assert any("\uac00" <= ch <= "\ud7a3" for ch in d.ko)


def test_an_unknown_code_is_refused():
    with pytest.raises(ValueError, match="NOT_A_CODE"):
        screen(["NOT_A_CODE"])


def test_mailbox_drops_dots_tags_case_and_folds_alias_domains():
    assert mailbox("Kim.Min+kakao@Hanmail.net") == "kimmin@daum.net"
    assert mailbox("kimmin@daum.net") == "kimmin@daum.net"
    assert mailbox("a.b.c+x@googlemail.com") == "abc@gmail.com"


def test_one_character_apart_counts_letters_not_numbers():
    assert one_edit_apart("kimminsu@gmail.com", "kimminsoo@gmail.com") is False  # two edits
    assert one_edit_apart("kimminsu@gmail.com", "kimmingsu@gmail.com")  # one inserted
    assert one_edit_apart("kimminsu@gmail.com", "kimminsa@gmail.com")  # one replaced
    assert one_edit_apart("kimminsu@gmail.com", "kimminu@gmail.com")  # one dropped
    assert not one_edit_apart("minsu7@gmail.com", "minsu8@gmail.com")  # numbered accounts
    assert not one_edit_apart("same@x.com", "same@x.com")


def test_strings_one_edit_apart_share_a_deletion_key():
    assert deletion_keys("kimminsu") & deletion_keys("kimminsa")
    assert deletion_keys("kimminsu") & deletion_keys("kimmingsu")
    assert not deletion_keys("kimminsu") & deletion_keys("parkjisoo")
