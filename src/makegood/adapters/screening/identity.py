"""Phone numbers and mail domains of claimants, normalized for screening.

Phone numbers are brought to E.164 by ``phonenumbers`` (Google's libphonenumber metadata,
shipped in the package). Korean mobile numbers, nearly every number on a Korean claim form, take
a fast path first (``010-1234-5678``, ``01012345678``, ``+82 10 1234 5678``, ``82-10-...``)
because parsing a million numbers one by one takes longer than the rest of screening; a test
checks that the fast path gives what ``phonenumbers`` gives. Disposable mail domains come from
the ``disposable-email-domains`` package (a CC0 list of some ten thousand domains).
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from disposable_email_domains import blocklist

_KR_MOBILE = re.compile(r"^(?:\+?82-?|0)?(1[016789])(\d{3,4})(\d{4})$")
_STRIP = re.compile(r"[\s\-().]")


@functools.lru_cache(maxsize=65536)
def _parsed(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_key(raw: str | None, *, region: str = "KR") -> str | None:
    """The number in E.164 (``+821012345678``), or ``None`` when it is not a phone number."""
    if not raw:
        return None
    text = _STRIP.sub("", raw)
    if region == "KR":
        match = _KR_MOBILE.match(text.replace("+82-", "+82"))
        if match:
            return "+82" + "".join(match.groups())
    return _parsed(raw.strip(), region)


def is_disposable(domain: str) -> bool:
    """Whether the mail domain (or a parent domain of it) is a throwaway mail service."""
    parts = domain.strip().lower().split(".")
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))
