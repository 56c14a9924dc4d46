"""Features of a report's text: Korean morphemes from kiwipiepy, English words, character n-grams.

Kiwi (kiwipiepy) splits Korean into morphemes with the model its ``kiwipiepy_model`` package
ships, so nothing is downloaded at run time. Content morphemes (nouns, verb and adjective stems,
adverbs, interjections, foreign words, symbols such as ``ㅠㅠ``) become ``w:`` features, pairs of
neighbours ``b:`` features, and character 2- and 3-grams of the text with its spaces removed
``c:`` features, so that missing spaces and one-letter typos still share most features with the
clean text. Each text's features are binary and the vector is scaled to unit length.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

# Kiwi's part-of-speech tags kept as words: nouns, verbs, adjectives, adverbs, determiners,
# interjections, roots, Latin/Chinese/other letters, symbols (emoji, ㅠㅠ) and numbers.
_KEEP = ("NN", "NP", "NR", "VV", "VA", "VX", "MA", "MM", "IC", "XR", "SL", "SH", "SW", "SN", "W_")
_SPACE = re.compile(r"\s+")

_lock = threading.Lock()
_kiwi: Any = None


def _analyzer() -> Any:
    """The Kiwi analyzer, loaded once per process (about a second, 100 MB)."""
    global _kiwi
    with _lock:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _kiwi = Kiwi(num_workers=1)  # one worker thread: batches, no warning
        return _kiwi


def normalize(text: str) -> str:
    """NFC, lower case, runs of white space as one space."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip().lower()


def words(tokens: Iterable[Any]) -> list[str]:
    out = []
    for token in tokens:
        tag: str = token.tag
        if tag.startswith(_KEEP):
            out.append(token.form.lower())
    return out


def features_of(text: str, tokens: Iterable[Any]) -> set[str]:
    found = words(tokens)
    feats = {"w:" + w for w in found}
    feats.update("b:" + a + "_" + b for a, b in itertools.pairwise(found))
    compact = text.replace(" ", "")
    for n in (2, 3):
        feats.update("c:" + compact[i:i + n] for i in range(len(compact) - n + 1))
    return feats


def featurize(texts: Sequence[str]) -> list[set[str]]:
    """The feature set of every text, Korean analysed in one batch."""
    clean = [normalize(t) for t in texts]
    kiwi = _analyzer()
    with _lock:  # a Kiwi object is not documented as safe across threads
        analysed = list(kiwi.tokenize(clean))
    return [features_of(text, tokens) for text, tokens in zip(clean, analysed, strict=True)]


def shown(feature: str) -> str:
    """A feature as a reviewer reads it: the word, the word pair, or a quoted letter run."""
    kind, _, value = feature.partition(":")
    if kind == "b":
        return value.replace("_", " ")
    if kind == "c":
        return f"“{value}”"
    return value
