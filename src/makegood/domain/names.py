"""The names people read for services and award kinds, in Korean and English: one list for
the notices, the award explanations, the rules' wording and the web pages.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping

# Names people know the 2022 services by; other services show their id.
SERVICE_NAMES: Mapping[str, Mapping[str, str]] = {
    "messenger": {"ko": "카카오톡", "en": "KakaoTalk"},
    "partner_login": {"ko": "카카오 로그인", "en": "Kakao Login"},
    "taxi": {"ko": "카카오 T 택시", "en": "Kakao T Taxi"},
    "taxi_pro": {"ko": "카카오 T 프로 멤버십", "en": "Kakao T Pro membership"},
    "driver_pro": {"ko": "대리운전 프로 멤버십", "en": "designated-driver Pro membership"},
    "pay": {"ko": "카카오페이", "en": "KakaoPay"},
    "webtoon": {"ko": "카카오웹툰", "en": "Kakao Webtoon"},
    "page": {"ko": "카카오페이지", "en": "KakaoPage"},
    "music": {"ko": "멜론", "en": "Melon"},
    "emoticon_plus": {"ko": "이모티콘 플러스", "en": "Emoticon Plus"},
    "chat_backup": {"ko": "톡서랍 플러스", "en": "Talk Drawer Plus"},
    "kakao_mail": {"ko": "카카오메일", "en": "Kakao Mail"},
    "daum_mail": {"ko": "다음메일", "en": "Daum Mail"},
    "biz_channel": {"ko": "카카오톡 채널", "en": "KakaoTalk Channel"},
}
KIND_WORDS = {
    "extension": {"ko": "이용 기간 연장", "en": "extension"},
    "credit": {"ko": "크레딧", "en": "credit"},
    "refund": {"ko": "환불", "en": "refund"},
    "cash": {"ko": "보상금", "en": "payment"},
    "item": {"ko": "선물", "en": "gift"},
    "review": {"ko": "개별 심사", "en": "individual review"},
}


def service_name(service: str, language: str) -> str:
    """``카카오톡`` / ``KakaoTalk``; a service without a known name shows its id."""
    return SERVICE_NAMES.get(service, {}).get(language, service)


def kind_word(kind: str, language: str) -> str:
    """``크레딧`` / ``credit``: an award kind as a person reads it."""
    return KIND_WORDS.get(kind, {}).get(language, kind)
