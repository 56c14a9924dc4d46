"""The message catalogues: every message the pages use has a Korean translation, and the
catalogues compile (in memory, at first use)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).parents[2] / "src" / "makegood" / "entrypoints" / "web"


def used_messages() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "N_": None}
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in extract_from_dir(
                str(WEB), method_map=method_map, keywords=keywords)}


def test_every_message_has_a_korean_translation() -> None:
    with (WEB / "locales" / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="ko")
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(used_messages() - translated)
    assert not missing, f"untranslated (run pybabel extract/update, see docs/web.md): {missing}"


def test_catalogues_compile_and_translate() -> None:
    from makegood.entrypoints.web import i18n

    assert i18n.translations("ko").gettext("Check my compensation") == "내 보상 확인"
    assert i18n.translations("en").gettext("Check my compensation") == "Check my compensation"


def test_korean_is_the_default_and_accept_language_chooses() -> None:
    from makegood.entrypoints.web.i18n import choose

    assert choose(None, "") == "ko"
    assert choose(None, "fr-FR,fr;q=0.9") == "ko"
    assert choose(None, "en-US,en;q=0.9,ko;q=0.8") == "en"
    assert choose(None, "ko-KR,ko;q=0.9,en;q=0.5") == "ko"
    assert choose("en", "ko") == "en"


def test_durations_read_in_the_readers_language() -> None:
    from datetime import timedelta

    from makegood.entrypoints.web.render import duration, duration_ko

    official = timedelta(hours=127, minutes=30)
    assert duration_ko(official) == "127시간 30분"
    assert duration(official) == "127 h 30 min"
    assert duration_ko(timedelta(seconds=45)) == "45초"
    assert duration_ko(timedelta(hours=2)) == "2시간"
