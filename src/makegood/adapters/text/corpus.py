"""The labelled triage corpus: one seeded generator, so anyone can regenerate every text.

Each text is a template of :mod:`~makegood.adapters.text.phrases` with its slots filled, then
varied the way people write in a form on a phone: Korean, English or both (a Korean term
swapped for its Latin spelling, or an English sentence after a Korean one), amounts written five
ways (``15,000원``, ``15000원``, ``1만5천원``, ``15k``, ``KRW 15,000``), missing or extra
spaces, typos (a dropped, doubled or swapped character), slang and emoji, polite or clipped
endings, one to three sentences. The same seed always gives the same texts in the same order.

Two held-out sets, fixed by the seed, that no training step reads: :func:`split` puts every
fifth text of each label (after a seeded shuffle) aside, and one template in five of each label
and language (:func:`unseen_templates`) is never used for training texts at all, so the second
set measures texts written in ways the model has not seen.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from makegood.adapters.text import phrases as p
from makegood.domain.triage import Label

DEFAULT_SIZE = 4000
DEFAULT_SEED = 20221015


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: Label
    template: str  # "<label>/<ko|en|mix>/<index>": which template it came from


def _amount(rng: random.Random, *, english: bool) -> str:
    value = rng.choice((3000, 5000, 8000, 12000, 15000, 23000, 39000, 45000, 80000, 120000,
                        250000, 300000, 480000, 1200000, 3500000))
    style = rng.randrange(5)
    if english:
        return (f"{value:,} KRW", f"KRW {value:,}", f"{value // 1000}k won", f"{value:,} won",
                f"₩{value:,}")[style]
    if style == 0:
        return f"{value:,}원"
    if style == 1:
        return f"{value}원"
    if style == 2:
        man, rest = divmod(value, 10000)
        chun = rest // 1000
        text = (f"{man}만" if man else "") + (f"{chun}천" if chun else "")
        return text + "원"
    if style == 3:
        return f"{value // 1000}k"
    return f"약 {value:,}원"


def _fill(template: str, rng: random.Random) -> str:
    values = {name: rng.choice(options) for name, options in p.SLOTS.items()}
    values["amt"] = _amount(rng, english=False)
    values["amt_en"] = _amount(rng, english=True)
    values["n"] = str(rng.randint(2, 30))
    return template.format_map(values)


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 6:
        return text
    i = rng.randrange(1, len(text) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1:]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def _switch(text: str, rng: random.Random) -> str:
    for korean, latin in p.SWITCH:
        if korean in text and rng.random() < 0.6:
            text = text.replace(korean, rng.choice(latin), 1)
    return text


def _roughen(text: str, rng: random.Random, *, korean: bool) -> str:
    r = rng.random()
    if korean and r < 0.25:
        text = text.replace(" ", "")  # no spacing at all, as many type on a phone
    elif korean and r < 0.45:
        words = text.split(" ")
        text = " ".join(w if rng.random() < 0.7 or i == 0 else "\u200b" + w if rng.random() < 0.05
                        else w for i, w in enumerate(words)).replace("\u200b", "")
        text = "".join(c for i, c in enumerate(text) if c != " " or rng.random() < 0.7)
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        text = _typo(text, rng)
    if not korean:
        c = rng.random()
        if c < 0.3:
            text = text.lower()
        elif c < 0.35:
            text = text.upper()
        text = text.replace("you", "u") if rng.random() < 0.2 else text
        text = text.replace("please", "pls") if rng.random() < 0.3 else text
    if korean and rng.random() < 0.35:
        text += " " + rng.choice(p.SLANG_KO)
    if rng.random() < 0.3:
        text += rng.choice(("", " ")) + rng.choice(p.EMOJI) * rng.randint(1, 3)
    if rng.random() < 0.15:
        text = text.rstrip(".") + rng.choice(("!!", "??", "...", "~~", "."))
    return text


def unseen_templates(label: Label, language: str, *, seed: int = DEFAULT_SEED) -> frozenset[int]:
    """The templates of ``label`` in ``language`` ("ko" or "en") that only the held-out set uses:
    one in five, at least one, picked by the seed."""
    count = len((p.KO if language == "ko" else p.EN)[label])
    rng = random.Random(f"{seed}/{label.value}/{language}")
    return frozenset(rng.sample(range(count), max(1, count // 5)))


def _pick(rng: random.Random, label: Label, language: str, pool: str) -> int:
    count = len((p.KO if language == "ko" else p.EN)[label])
    if pool == "all":
        return rng.randrange(count)
    unseen = unseen_templates(label, language)
    allowed = sorted(unseen) if pool == "unseen" else [i for i in range(count) if i not in unseen]
    return allowed[rng.randrange(len(allowed))]


def _one(label: Label, rng: random.Random, pool: str) -> Example:
    mode = rng.choices(("ko", "en", "mix"), weights=(6, 2, 2))[0]
    templates_ko, templates_en = p.KO[label], p.EN[label]
    if mode == "en":
        index = _pick(rng, label, "en", pool)
        body = p.PREFIX_EN[rng.randrange(len(p.PREFIX_EN))] + _fill(templates_en[index], rng)
        body += p.SUFFIX_EN[rng.randrange(len(p.SUFFIX_EN))]
        text = _roughen(body, rng, korean=False)
    else:
        index = _pick(rng, label, "ko", pool)
        body = p.PREFIX_KO[rng.randrange(len(p.PREFIX_KO))] + _fill(templates_ko[index], rng)
        if rng.random() < 0.25:  # a second sentence of the same kind
            body += " " + _fill(templates_ko[_pick(rng, label, "ko", pool)], rng)
        body += p.SUFFIX_KO[rng.randrange(len(p.SUFFIX_KO))]
        if mode == "mix":
            body = _switch(body, rng)
        text = _roughen(body, rng, korean=True)
        if mode == "mix" and rng.random() < 0.4:  # spacing is dropped in Korean, not in English
            english = templates_en[_pick(rng, label, "en", pool)]
            text += " " + _roughen(_fill(english, rng), rng, korean=False)
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    return Example(text or label.value, label, f"{label.value}/{mode}/{index}")


def generate(size: int = DEFAULT_SIZE, *, seed: int = DEFAULT_SEED, pool: str = "seen"
             ) -> list[Example]:
    """``size`` labelled texts, the labels in turn (balanced), deterministic for ``seed``.

    ``pool`` says which templates to use: ``seen`` (all but :func:`unseen_templates`, for
    training and the first held-out set), ``unseen`` (only those, for the second held-out set)
    or ``all``.
    """
    if pool not in ("seen", "unseen", "all"):
        raise ValueError(f"unknown template pool {pool!r}")
    rng = random.Random(f"{seed}/{pool}")
    labels = list(Label)
    return [_one(labels[i % len(labels)], rng, pool) for i in range(size)]


def split(examples: list[Example], *, seed: int = DEFAULT_SEED, every: int = 5
          ) -> tuple[list[Example], list[Example]]:
    """(train, held-out): per label, every ``every``-th text after a seeded shuffle is held out."""
    train: list[Example] = []
    test: list[Example] = []
    for label in Label:
        group = [e for e in examples if e.label is label]
        random.Random(f"{seed}/{label.value}").shuffle(group)
        for i, example in enumerate(group):
            (test if i % every == 0 else train).append(example)
    # A short template with the same noise can come out twice: such a text is not held out.
    seen = {e.text for e in train}
    return train, [e for e in test if e.text not in seen]


def rows(examples: list[Example]) -> Iterator[tuple[str, str, str]]:
    for e in examples:
        yield e.text, e.label.value, e.template
