"""Languages of the web pages: Babel message catalogues, Korean by default, English.

The catalogues are ``locales/<lang>/LC_MESSAGES/messages.po`` files in the package; they are
compiled in memory the first time a language is used, so there is no build step. The language
of a request is the ``mg_lang`` cookie (set by the switch on every page), else the preferred of
Korean and English in ``Accept-Language``, else Korean.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("ko", "en")
DEFAULT = "ko"
LOCALES = Path(__file__).parent / "locales"
LANG_COOKIE = "mg_lang"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (messages without a translation stay English)."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(lang: str) -> gettext.NullTranslations:
    return translations(lang if lang in LANGUAGES else DEFAULT)


def preferred(accept_language: str) -> str:
    """Korean or English, whichever ``Accept-Language`` prefers; Korean when it names neither."""
    best, best_q = DEFAULT, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower()[:2]
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def choose(cookie: str | None, accept_language: str) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    return preferred(accept_language)
