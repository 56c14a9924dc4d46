"""The screening engine: deduction codes and duplicate groups for a whole set of claims at once.

Input is columnar (:class:`ClaimColumns`), so the same engine screens one new claim with its
candidate neighbours at intake and a million claims in a batch. Every signal becomes claim
pairs ("edges") of one kind; a claim's codes come from its edges and its own fields; duplicate
groups are the connected components of the edges (:mod:`~makegood.adapters.screening.graph`).

Keys that many claims share (a payout account, an evidence file, a device, a mailbox, a phone
number, a band of a text signature) are linked as a chain in claim order, not as every pair, so
a ring of 200 claims costs 199 edges; a claim named in a reviewer's "not duplicate" decision is
instead linked to every other member of its key groups except the partner the reviewer named,
which keeps both the decision and the rest of the group's links.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from makegood.adapters.screening import hashing
from makegood.adapters.screening.graph import components
from makegood.adapters.screening.identity import is_disposable, phone_key
from makegood.domain.screening import email_domain, mailbox, one_edit_apart

I64 = npt.NDArray[np.int64]
BURST_COUNT = 5  # claims from one address or device ...
BURST_SECONDS = 3600  # ... within an hour
TEXT_SIMILARITY = 0.8  # estimated Jaccard of character 3-grams
TEXT_BUCKET_CAP = 50  # a band shared by more descriptions is a common phrase, not a duplicate
IDENTITY_BUCKET_CAP = 20
MIN_NAME_FOR_EDITS = 6  # mailbox names shorter than this are too often one edit from a stranger
OUTLIER_MIN_CLAIMS = 30
OUTLIER_MADS = 3.5
VERIFICATION_CODES = ("SERVICE_NOT_HELD", "OUTSIDE_WINDOWS", "LEDGER_COVERED")
KINDS = ("payout", "evidence", "text", "identity", "device", "reviewer")


@dataclass(slots=True)
class ClaimColumns:
    """The fields screening reads, one list (or array) entry per claim."""

    ids: list[str]
    email: list[str]
    phone: list[str]
    ip: list[str | None]
    device: list[str | None]
    payout: list[str | None]  # a keyed fingerprint of the account, never the number
    evidence: list[tuple[str, ...]]  # content hashes
    text: list[str]
    at: I64  # filing time, seconds since the epoch
    segment: list[str]  # claimant kind and category, for the amount distribution
    amount: npt.NDArray[np.float64]  # statistics only (log scale): never money arithmetic
    flags: list[frozenset[str]]  # codes from verification: VERIFICATION_CODES


@dataclass(frozen=True, slots=True)
class Decision:
    a: int
    b: int
    duplicate: bool


@dataclass(slots=True)
class Result:
    codes: list[set[str]]
    group: I64  # component label (smallest member index); -1: linked to no other claim
    edge_a: I64
    edge_b: I64
    edge_kind: npt.NDArray[np.int8]  # index into KINDS
    timings: dict[str, float] = field(default_factory=dict)


def _factorize(values: Sequence[str | None]) -> I64:
    index: dict[str, int] = {}
    return np.fromiter((index.setdefault(v, len(index)) if v else -1 for v in values),
                       dtype=np.int64, count=len(values))


@dataclass(frozen=True, slots=True)
class _Groups:
    owner: I64  # claims sorted by key, then by claim
    starts: I64  # where each key's group starts in ``owner``
    sizes: I64
    ok: npt.NDArray[np.bool_]  # per group: two or more claims, not above the cap


class _Edges:
    def __init__(self, touched: set[int], excluded: set[tuple[int, int]]) -> None:
        self.touched = touched
        self.excluded = excluded
        self.parts: list[tuple[I64, I64, int]] = []

    def from_keys(self, owner: I64, key: npt.NDArray[np.int64] | npt.NDArray[np.uint64],
                  kind: int, *, cap: int | None = None, record: bool = True
                  ) -> tuple[I64, I64, _Groups]:
        """Chain edges between claims sharing a key, with the groups they came from."""
        if key.dtype == np.int64:
            valid = key != -1
            owner, key = owner[valid], key[valid]
        if not len(owner):
            empty = owner[:0]
            groups = _Groups(empty, empty, empty, np.zeros(0, dtype=bool))
            if record:
                self.parts.append((empty, empty, kind))
            return empty, empty, groups
        order = np.lexsort((owner, key))
        owner, key = owner[order], key[order]
        same = np.concatenate(([False], key[1:] == key[:-1]))
        dup = same & np.concatenate(([False], owner[1:] == owner[:-1]))
        owner, same = owner[~dup], same[~dup]
        starts = np.flatnonzero(~same)
        sizes = np.diff(np.append(starts, len(owner)))
        ok = sizes >= 2
        if cap is not None:
            ok &= sizes <= cap
        link = same & np.repeat(ok, sizes)
        a, b = owner[:-1][link[1:]], owner[1:][link[1:]]
        groups = _Groups(owner, starts, sizes, ok)
        if self.touched:
            a, b = self._respect(groups, a, b)
        if record:
            self.parts.append((a, b, kind))
        return a, b, groups

    def _respect(self, g: _Groups, a: I64, b: I64) -> tuple[I64, I64]:
        """Re-link groups holding a claim of a reviewer's decision (see the module docstring)."""
        inside = np.fromiter(self.touched, dtype=np.int64)
        keep = ~(np.isin(a, inside) | np.isin(b, inside))
        extra_a: list[int] = []
        extra_b: list[int] = []
        for x, partners in self.partners(g).items():
            extra_a.extend([x] * len(partners))
            extra_b.extend(partners)
        return (np.concatenate((a[keep], np.asarray(extra_a, dtype=np.int64))),
                np.concatenate((b[keep], np.asarray(extra_b, dtype=np.int64))))

    def partners(self, g: _Groups) -> dict[int, list[int]]:
        """For each claim of a reviewer's decision: the members of its groups it stays linked to."""
        out: dict[int, list[int]] = {}
        if not self.touched or not len(g.owner):
            return out
        hit = np.isin(g.owner, np.fromiter(self.touched, dtype=np.int64)).astype(np.int64)
        for gi in np.flatnonzero((np.add.reduceat(hit, g.starts) > 0) & g.ok).tolist():
            members = g.owner[g.starts[gi]:g.starts[gi] + g.sizes[gi]].tolist()
            for x in set(members) & self.touched:
                out.setdefault(x, []).extend(
                    y for y in members if y != x and (min(x, y), max(x, y)) not in self.excluded)
        return out

    def add(self, a: I64, b: I64, kind: int) -> None:
        self.parts.append((a, b, kind))

    def flag(self, codes: list[set[str]], g: _Groups, code: str, attr: I64 | None = None) -> None:
        """Mark members of groups whose claims differ in ``attr`` (any group when ``None``);
        claims of a reviewer's decision are judged on the partners they stay linked to."""
        if not len(g.owner):
            return
        hit = g.ok.copy()
        if attr is not None:
            values = attr[g.owner]
            hit &= np.minimum.reduceat(values, g.starts) != np.maximum.reduceat(values, g.starts)
        for i in g.owner[np.repeat(hit, g.sizes)].tolist():
            if i not in self.touched:
                codes[i].add(code)
        for x, partners in self.partners(g).items():
            if any(attr is None or attr[y] != attr[x] for y in partners):
                codes[x].add(code)


def _mark(codes: list[set[str]], a: I64, b: I64, code: str) -> None:
    for i in np.unique(np.concatenate((a, b))).tolist():
        codes[i].add(code)


def screen_columns(c: ClaimColumns, decisions: Sequence[Decision] = ()) -> Result:
    """Codes and groups for every claim of ``c``; reviewers' decisions are respected."""
    n = len(c.ids)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    codes: list[set[str]] = [set(f) for f in c.flags]
    excluded = {(min(d.a, d.b), max(d.a, d.b)) for d in decisions if not d.duplicate}
    touched = {x for pair in excluded for x in pair}
    edges = _Edges(touched, excluded)
    rows = np.arange(n, dtype=np.int64)
    boxes = [mailbox(e) for e in c.email]
    box = _factorize(boxes)
    timings["identities"] = time.perf_counter() - clock

    # Payout account, evidence file, device: shared keys.
    clock = time.perf_counter()
    _, _, g = edges.from_keys(rows, _factorize(c.payout), KINDS.index("payout"))
    edges.flag(codes, g, "SHARED_PAYOUT", box)  # one person's two claims may share an account
    ev_owner = np.repeat(rows, [len(e) for e in c.evidence])
    _, _, g = edges.from_keys(ev_owner, _factorize([h for e in c.evidence for h in e]),
                              KINDS.index("evidence"))
    edges.flag(codes, g, "SHARED_EVIDENCE")
    device = _factorize(c.device)
    edges.from_keys(rows, device, KINDS.index("device"))
    edges.parts[-1] = _between_people(edges.parts[-1], box)
    _bursts(codes, _factorize(c.ip), c.at, "IP_BURST")
    _bursts(codes, device, c.at, "DEVICE_BURST")
    timings["shared keys"] = time.perf_counter() - clock

    # Identities: the same mailbox written differently, one character apart, the same phone.
    clock = time.perf_counter()
    raw = _factorize([e.strip() for e in c.email])  # capitals make a variant too
    _, _, g = edges.from_keys(rows, box, KINDS.index("identity"))
    edges.flag(codes, g, "IDENTITY_VARIANT", raw)
    long_enough = np.fromiter((len(x.partition("@")[0]) >= MIN_NAME_FOR_EDITS for x in boxes),
                              dtype=bool, count=n)
    pick = np.flatnonzero(long_enough)
    # One-edit neighbours within a mail domain: deletion keys of the name, salted by the domain.
    names = [boxes[i].partition("@") for i in pick]
    owner, key = hashing.deletion_hashes([n for n, _, _ in names])
    domain = _factorize([d for _, _, d in names]).astype(np.uint64)
    key = key ^ ((domain[owner] + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    a, b, _ = edges.from_keys(pick[owner], key, KINDS.index("identity"), cap=IDENTITY_BUCKET_CAP,
                              record=False)
    a, b = _unique_pairs(a, b)
    # Alone, a one-character difference is too common between strangers (kim/lim) to count: the
    # two claims must also share the phone's last four digits, a network address, a device or
    # a payout account.
    phones = [phone_key(p) for p in c.phone]
    tail = _factorize([p[-4:] if p else None for p in phones])
    ip, payout_key = _factorize(c.ip), _factorize(c.payout)
    backed = np.zeros(len(a), dtype=bool)
    for attr in (tail, ip, device, payout_key):
        backed |= (attr[a] == attr[b]) & (attr[a] >= 0)
    a, b = a[backed], b[backed]
    real = np.fromiter((one_edit_apart(boxes[x], boxes[y]) for x, y in zip(a, b, strict=True)),
                       dtype=bool, count=len(a))
    edges.add(a[real], b[real], KINDS.index("identity"))
    _mark(codes, a[real], b[real], "IDENTITY_VARIANT")
    _, _, g = edges.from_keys(rows, _factorize(phones), KINDS.index("identity"))
    edges.flag(codes, g, "IDENTITY_VARIANT", box)
    for i, e in enumerate(c.email):
        if is_disposable(email_domain(e)):
            codes[i].add("DISPOSABLE_EMAIL")
    timings["identity variants"] = time.perf_counter() - clock

    # Near-duplicate descriptions: MinHash signatures, LSH bands, checked on the signature.
    clock = time.perf_counter()
    sig, usable = hashing.signatures([t.replace("\x00", "") for t in c.text])
    bands = hashing.band_keys(sig)
    use = np.flatnonzero(usable)
    found_a: list[I64] = []
    found_b: list[I64] = []
    for band in range(hashing.BANDS):
        a, b, _ = edges.from_keys(use, bands[use, band], KINDS.index("text"),
                                  cap=TEXT_BUCKET_CAP, record=False)
        found_a.append(a)
        found_b.append(b)
    a, b = _unique_pairs(np.concatenate(found_a), np.concatenate(found_b))
    close = hashing.similarity(sig, a, b) >= TEXT_SIMILARITY if len(a) else np.zeros(0, bool)
    edges.add(a[close], b[close], KINDS.index("text"))
    _mark(codes, a[close], b[close], "NEAR_DUPLICATE_TEXT")
    timings["near-duplicate text"] = time.perf_counter() - clock

    # Amounts far above their segment's distribution; reviewers' decisions; groups.
    clock = time.perf_counter()
    _outliers(codes, _factorize(c.segment), c.amount)
    for d in decisions:
        if d.duplicate:
            edges.add(np.asarray([d.a], dtype=np.int64), np.asarray([d.b], dtype=np.int64),
                      KINDS.index("reviewer"))
            codes[d.a].add("DUPLICATE_CONFIRMED")
            codes[d.b].add("DUPLICATE_CONFIRMED")
    ea = np.concatenate([p[0] for p in edges.parts] + [rows[:0]])
    eb = np.concatenate([p[1] for p in edges.parts] + [rows[:0]])
    ek = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in edges.parts]
                        + [np.zeros(0, np.int8)])
    if excluded:
        lo, hi = np.minimum(ea, eb), np.maximum(ea, eb)
        keep = np.fromiter(((int(x), int(y)) not in excluded for x, y in zip(lo, hi, strict=True)),
                           dtype=bool, count=len(lo))
        ea, eb, ek = ea[keep], eb[keep], ek[keep]
    group = components(n, ea, eb)
    timings["groups"] = time.perf_counter() - clock
    return Result(codes, group, ea, eb, ek, timings)


def _between_people(part: tuple[I64, I64, int], box: I64) -> tuple[I64, I64, int]:
    a, b, kind = part
    diff = box[a] != box[b]
    return a[diff], b[diff], kind


def _unique_pairs(a: I64, b: I64) -> tuple[I64, I64]:
    if not len(a):
        return a, b
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pairs = np.unique(lo * np.int64(1 << 31) + hi)
    return pairs >> np.int64(31), pairs & np.int64((1 << 31) - 1)


def _bursts(codes: list[set[str]], key: I64, at: I64, code: str) -> None:
    """Flag every claim inside some hour that holds ``BURST_COUNT`` or more claims of one key."""
    has = np.flatnonzero(key >= 0)
    if not len(has):
        return
    order = has[np.lexsort((at[has], key[has]))]
    combined = key[order] * np.int64(1 << 40) + at[order]  # times fit in 40 bits for millennia
    position = np.arange(len(order))
    end = np.searchsorted(combined, combined + BURST_SECONDS, side="right")
    starts = (end - position) >= BURST_COUNT  # the hour from this claim on is a burst
    cover = np.zeros(len(order) + 1, dtype=np.int64)
    np.add.at(cover, position[starts], 1)
    np.add.at(cover, end[starts], -1)
    for i in order[np.cumsum(cover[:-1]) > 0].tolist():
        codes[i].add(code)


def _outliers(codes: list[set[str]], segment: I64, amount: npt.NDArray[np.float64]) -> None:
    logs = np.log10(np.maximum(amount, 1.0))
    for s in np.unique(segment[segment >= 0]).tolist():
        members = np.flatnonzero(segment == s)
        if len(members) < OUTLIER_MIN_CLAIMS:
            continue
        values = logs[members]
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median))) * 1.4826
        limit = median + OUTLIER_MADS * mad if mad > 0 else median + math.log10(10)
        for i in members[values > limit].tolist():
            codes[i].add("AMOUNT_OUTLIER")


def keys_of(c: ClaimColumns) -> list[tuple[int, str, str]]:
    """(claim, kind, key) for every key that finds a claim's neighbours later: its payout
    fingerprint, mailbox, phone, device and the LSH bands of its description."""
    out: list[tuple[int, str, str]] = []
    sig, usable = hashing.signatures([t.replace("\x00", "") for t in c.text])
    bands = hashing.band_keys(sig)
    for i in range(len(c.ids)):
        out.append((i, "mailbox", mailbox(c.email[i])))
        phone = phone_key(c.phone[i])
        if phone:
            out.append((i, "phone", phone))
        if c.payout[i]:
            out.append((i, "payout", str(c.payout[i])))
        if c.device[i]:
            out.append((i, "device", str(c.device[i])))
        if usable[i]:
            out.extend((i, f"band{b}", f"{int(bands[i, b]):016x}") for b in range(hashing.BANDS))
    return out
