"""Generated claims with planted duplicates, identity variants and fraud rings, for measuring
screening (``benchmarks/bench_screen.py`` and the tests). One seed, the same claims.

* honest claimants file one claim each, with their own address, phone, device, bank account and
  a description from the triage corpus plus their own details; some share an office or carrier
  network (a shared address that is not fraud);
* duplicates: one person files the same claim again, the text lightly edited, the phone written
  another way, sometimes the address varied;
* identity variants: one person files several claims under variants of one address (dots, a
  ``+tag``, capitals, one character changed) and one phone number written several ways;
* fraud rings of several sizes: many made-up identities (some at throwaway mail domains) behind
  a few bank accounts, one device or network, one evidence file and one edited text, filed in a
  burst, often with inflated amounts.

``truth[i]`` is the planted group of claim ``i`` (0: an honest claim that belongs to no group).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from makegood.adapters.screening.engine import VERIFICATION_CODES, ClaimColumns
from makegood.adapters.text.corpus import generate
from makegood.domain.screening import mailbox

_SYLLABLES = tuple(f"{a}{b}" for a in ("k", "l", "p", "ch", "j", "g", "y", "h", "s", "m", "b",
                                         "d", "n", "w", "r", "t")
                   for b in ("im", "ee", "ark", "oi", "ung", "ang", "o", "oon", "in", "an", "eo",
                             "u", "ye", "wa", "ok", "yun", "ae", "eun", "ho", "il"))
_DOMAINS = ("gmail.com", "naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com",
            "outlook.com", "icloud.com")
_THROWAWAY = ("mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com")
_SEGMENTS = ("individual/paid_service", "individual/free_service_loss",
             "small_business/business_sales", "individual/payment_failed")
_PLACES = ("판교", "강남", "서초", "분당", "해운대", "수원", "일산", "대전", "광주", "홍대", "잠실")
START = 1666137600  # 19 Oct 2022 00:00 UTC: the intake opened
RING_SIZES = (3, 10, 50, 200)


@dataclass(slots=True)
class Planted:
    columns: ClaimColumns
    truth: npt.NDArray[np.int64]
    kinds: dict[int, str]  # planted group -> "duplicate" | "variant" | "ring-<size>"


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))) + \
        (str(rng.randint(1, 99999)) if rng.random() < 0.8 else "")


def _phone_digits(rng: random.Random) -> str:
    return f"10{rng.randint(0, 99999999):08d}"


def _phone_text(digits: str, rng: random.Random) -> str:
    a, b, c = digits[:2], digits[2:6], digits[6:]
    return rng.choice((f"0{a}-{b}-{c}", f"0{a}{b}{c}", f"+82 {a} {b} {c}", f"+82-{a}-{b}-{c}",
                       f"0{a} {b} {c}"))


def _edit(text: str, rng: random.Random, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        if len(chars) < 4:
            break
        i = rng.randrange(len(chars))
        op = rng.randrange(3)
        if op == 0:
            del chars[i]
        elif op == 1:
            chars.insert(i, rng.choice("ㅠ.!요 "))
        else:
            chars[i] = rng.choice("아이우에오ㅋ ")
    return "".join(chars)


def _variant(email: str, rng: random.Random) -> str:
    name, _, domain = email.partition("@")
    choice = rng.randrange(4)
    if choice == 0 and len(name) > 2:
        i = rng.randrange(1, len(name))
        name = name[:i] + "." + name[i:]
    elif choice == 1:
        name = f"{name}+{rng.choice(('kakao', 'claim', 'x', '2022'))}"
    elif choice == 2:
        name = name.capitalize() if name[:1].islower() else name.lower()
        domain = domain.upper()
    else:
        i = rng.randrange(len(name))
        name = name[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + name[i + 1:]
    return f"{name}@{domain}"


def generate_claims(n: int, *, seed: int = 7) -> Planted:
    """``n`` claims, about 7 % of them in planted groups (2.3 % duplicates, 1.8 % identity
    variants, 2.6 % in fraud rings)."""
    rng = random.Random(seed)
    texts = [e.text for e in generate(min(max(n // 4, 200), 250_000), seed=seed, pool="all")]
    taken: set[str] = set()
    cols: dict[str, list[object]] = {k: [] for k in (
        "ids", "email", "phone", "ip", "device", "payout", "evidence", "text", "at", "segment",
        "amount", "flags")}
    truth: list[int] = []
    kinds: dict[int, str] = {}
    shared_networks = [f"211.234.{i // 256}.{i % 256}" for i in range(200)]

    def add(*, email: str, phone: str, ip: str, device: str, payout: str, evidence: tuple[str, ...],
            text: str, at: int, segment: str, amount: float, group: int) -> None:
        cols["ids"].append(f"C{len(truth):08d}")
        flags: frozenset[str] = frozenset()
        if rng.random() < 0.03:
            flags = frozenset({rng.choice(VERIFICATION_CODES)})
        for key, value in (("email", email), ("phone", phone), ("ip", ip), ("device", device),
                           ("payout", payout), ("evidence", evidence), ("text", text), ("at", at),
                           ("segment", segment), ("amount", amount), ("flags", flags)):
            cols[key].append(value)
        truth.append(group)

    def honest_text() -> str:  # the start of a corpus text and the claimant's own particulars
        base = rng.choice(texts)
        if len(base) > 50:
            base = base[:50].rsplit(" ", 1)[0]
        return (f"{base} ({rng.choice(_PLACES)} {rng.choice(_SYLLABLES)}"
                f"{rng.choice(_SYLLABLES)}점, {rng.choice(('주문번호', '예약번호', '영수증', 'ref'))} "
                f"{rng.randint(0, 10**8):08d}, {rng.randint(15, 21)}일 {rng.randint(0, 23)}시 "
                f"{rng.randint(0, 59)}분, 끝자리 {rng.randint(0, 9999):04d})")

    def unique_email(domains: tuple[str, ...] = _DOMAINS) -> str:
        while True:
            email = f"{_name(rng)}@{rng.choice(domains)}"
            if mailbox(email) not in taken:  # one address per mailbox, as mail services do
                taken.add(mailbox(email))
                return email

    def when() -> int:
        return START + int(rng.expovariate(1 / (4 * 86400))) % (19 * 86400)

    def amount(segment: str) -> float:
        base = 300000.0 if segment.startswith("small") else 20000.0
        return round(base * rng.lognormvariate(0, 0.6), -1)

    group = 0
    while len(truth) < n:
        r = rng.random()
        email = unique_email()
        digits = _phone_digits(rng)
        segment = rng.choice(_SEGMENTS)
        if r < 0.01:  # the same claim filed again
            group += 1
            kinds[group] = "duplicate"
            text, payout, at = rng.choice(texts) + " " + honest_text(), \
                f"P{rng.getrandbits(48):x}", when()
            for copy in range(rng.choice((2, 2, 3))):
                add(email=email if copy == 0 or rng.random() < 0.5 else _variant(email, rng),
                    phone=_phone_text(digits, rng), ip=f"10.{rng.getrandbits(24)}",
                    device=f"D{rng.getrandbits(40):x}", payout=payout,
                    evidence=(), text=text if copy == 0 else _edit(text, rng, rng.randint(1, 3)),
                    at=at + copy * rng.randint(600, 86400 * 3), segment=segment,
                    amount=amount(segment), group=group)
        elif r < 0.016:  # one person behind several address variants
            group += 1
            kinds[group] = "variant"
            for _ in range(rng.randint(2, 4)):
                add(email=_variant(email, rng), phone=_phone_text(digits, rng),
                    ip=f"10.{rng.getrandbits(24)}", device=f"D{rng.getrandbits(40):x}",
                    payout=f"P{rng.getrandbits(48):x}", evidence=(), text=honest_text(),
                    at=when(), segment=rng.choice(_SEGMENTS), amount=amount(segment),
                    group=group)
        elif r < 0.0164:  # a fraud ring
            group += 1
            size = rng.choice(RING_SIZES)
            kinds[group] = f"ring-{size}"
            accounts = [f"R{rng.getrandbits(48):x}" for _ in range(max(1, size // 25))]
            device, ip = f"D{rng.getrandbits(40):x}", f"175.{rng.getrandbits(24)}"
            evidence = f"E{rng.getrandbits(64):x}"
            text, at = rng.choice(texts) + " " + honest_text(), when()
            for k in range(size):
                add(email=unique_email(_THROWAWAY if rng.random() < 0.3 else _DOMAINS),
                    phone=_phone_text(_phone_digits(rng), rng),
                    ip=ip if rng.random() < 0.7 else f"10.{rng.getrandbits(24)}",
                    device=device if rng.random() < 0.5 else f"D{rng.getrandbits(40):x}",
                    payout=rng.choice(accounts),
                    evidence=(evidence,) if rng.random() < 0.6 else (),
                    text=_edit(text, rng, rng.randint(0, 3)), at=at + k * rng.randint(5, 120),
                    segment=segment, amount=amount(segment) * rng.choice((1, 1, 5, 20)),
                    group=group)
        else:  # an honest claimant
            shared = rng.random() < 0.05
            add(email=email, phone=_phone_text(digits, rng),
                ip=rng.choice(shared_networks) if shared else f"10.{rng.getrandbits(24)}",
                device=f"D{rng.getrandbits(40):x}", payout=f"P{rng.getrandbits(48):x}",
                evidence=(f"E{rng.getrandbits(64):x}",) if rng.random() < 0.3 else (),
                text=honest_text(), at=when(), segment=segment, amount=amount(segment), group=0)
    columns = ClaimColumns(
        ids=[str(x) for x in cols["ids"][:n]], email=[str(x) for x in cols["email"][:n]],
        phone=[str(x) for x in cols["phone"][:n]], ip=[str(x) for x in cols["ip"][:n]],
        device=[str(x) for x in cols["device"][:n]], payout=[str(x) for x in cols["payout"][:n]],
        evidence=[tuple(x) for x in cols["evidence"][:n]],  # type: ignore[arg-type]
        text=[str(x) for x in cols["text"][:n]],
        at=np.asarray(cols["at"][:n], dtype=np.int64),
        segment=[str(x) for x in cols["segment"][:n]],
        amount=np.asarray(cols["amount"][:n], dtype=np.float64),
        flags=[x for x in cols["flags"][:n]],  # type: ignore[misc]
    )
    return Planted(columns, np.asarray(truth[:n], dtype=np.int64), kinds)
