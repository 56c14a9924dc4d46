"""The shipped 2022 policies in Korean, as the notice shows them."""

from __future__ import annotations

from makegood import policies
from makegood.domain.policy import read_policy
from makegood.entrypoints.web.policy_words import describe


def korean(policy_id: str) -> dict[str, str]:
    policy = read_policy(policies.path(policy_id))
    return {rule.id: describe(rule, "ko")[0] for rule in policy.rules}


def test_paid_remedies_read_in_korean() -> None:
    words = korean("kakao-2022-paid")
    assert words["emoticon-web"] == "웹에서 산 emoticon_plus 유료 구독: 장애가 있었다면 이용 기간 3일 연장"
    assert words["taxi-pro"] == "taxi_pro 유료 구독: 장애가 있었다면 요금 6일분의 크레딧"
    assert words["music-app-store"] == \
        "앱 장터에서 산 music 유료 구독: 장애가 있었다면 크레딧 앱 캐시 1,500"
    assert words["webtoon-rental"] == "webtoon 유료 구독: 장애가 있었다면 이용 기간 72시간 연장"


def test_goodwill_and_loss_brackets_read_in_korean() -> None:
    assert korean("kakao-2022-free-goodwill")["emoticon-pack"] == \
        "messenger 이용: 영향을 받은 계정마다 emoticon-pack-3 1개 (한 번)"
    brackets = korean("kakao-2022-small-business")["sales-loss"]
    assert "300,000원 이하 30,000원, 500,000원 이하 50,000원" in brackets
    assert brackets.startswith("소상공인 pay, biz_channel, messenger 이용")


def test_other_kinds_keep_the_policys_english() -> None:
    policy = read_policy(policies.path("kr-telecom-10x"))
    text, lang = describe(policy.rules[0], "ko")
    assert lang == "en"
    assert text == f"{policy.rules[0].when.describe()}: {policy.rules[0].terms()}"
