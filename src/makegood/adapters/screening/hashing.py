"""Vectorised hashing for screening a million claims on one machine: text signatures and keys.

* :func:`signatures`: one-permutation MinHash (Li, Owen and Zhang 2012) with rotation
  densification (Shrivastava and Li 2014) over character 3-grams of each description with its
  spaces and punctuation removed. One hash per 3-gram instead of one per 3-gram and permutation
  keeps a million descriptions to a few seconds; the fraction of equal bins estimates the
  Jaccard similarity of the two 3-gram sets, as classic MinHash does.
* :func:`band_keys`: locality-sensitive hashing: the signature cut into bands, each band hashed
  to one key; two texts whose 3-gram sets overlap by ``J`` share at least one band key with
  probability ``1 - (1 - J**rows)**bands``.
* :func:`deletion_hashes`: for each string, a 64-bit hash of itself and of every string with one
  character removed, computed with polynomial prefix and suffix hashes, so addresses one typed
  character apart meet on a shared key without making ten million Python strings.

All hashing is seeded and deterministic (no Python ``hash``), so results repeat across runs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

BINS = 32
BANDS = 8
ROWS = BINS // BANDS
MIN_CHARS = 16  # shorter descriptions ("카톡 안 돼요") are too common to say anything
_DROP = re.compile(r"[\W_]+")
_MUL = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.uint32(0xFFFFFFFF)


def compact(text: str) -> str:
    """The letters and digits of a description, lower case, NFC: spacing and emoji do not count
    (the one-text form of what :func:`signatures` does to a whole batch)."""
    return _DROP.sub("", unicodedata.normalize("NFC", text).lower())


def _letters(cps: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Which code points count for similarity: digits, Latin letters, Hangul (syllables and
    jamo), CJK ideographs; the rest (spaces, punctuation, emoji) is dropped."""
    return (((cps >= 0x30) & (cps <= 0x39)) | ((cps >= 0x61) & (cps <= 0x7A))
            | ((cps >= 0xAC00) & (cps <= 0xD7A3)) | ((cps >= 0x3131) & (cps <= 0x318E))
            | ((cps >= 0x1100) & (cps <= 0x11FF)) | ((cps >= 0x4E00) & (cps <= 0x9FFF))
            | ((cps >= 0xC0) & (cps <= 0x24F)))


CHUNK = 100_000  # texts hashed at once: bounds the temporary arrays (about 1 GiB at most)


def signatures(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """(signatures ``n x BINS``, usable) of raw descriptions; ``usable`` is false for those with
    fewer than ``MIN_CHARS`` letters and digits."""
    if len(texts) <= CHUNK:
        return _signatures(texts)
    parts = [_signatures(texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _signatures(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    n = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    joined = unicodedata.normalize("NFC", "\x00".join(texts)).lower()
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    # NFC may shorten a text: find the boundaries again by the separators.
    breaks = np.flatnonzero(cps == 0)
    owner_all = np.zeros(len(cps), dtype=np.int64)
    owner_all[breaks] = 1
    owner_all = np.cumsum(owner_all)
    keep_cp = _letters(cps)
    cps64, owner = cps[keep_cp].astype(np.uint64), owner_all[keep_cp]
    lengths = np.bincount(owner, minlength=n).astype(np.int64)
    usable = lengths >= MIN_CHARS
    sig = np.full((n, BINS), _EMPTY, dtype=np.uint32)
    if len(cps64) < 3:
        return sig, usable
    h = (cps64[:-2] * np.uint64(0x100000001B3)) ^ (cps64[1:-1] * np.uint64(0xC2B2AE3D27D4EB4F)) \
        ^ (cps64[2:] * np.uint64(0x165667B19E3779F9))
    h *= _MUL
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    # A 3-gram counts when its three letters belong to one text, a usable one.
    first = owner[:-2]
    keep = (first == owner[2:]) & usable[first]
    h, first = h[keep], first[keep]
    bins = (h >> np.uint64(59)).astype(np.int64)  # top 5 bits: one of 32 bins
    values = (h & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    np.minimum.at(sig.reshape(-1), first * BINS + bins, values)
    _densify(sig, usable)
    return sig, usable


def _densify(sig: npt.NDArray[np.uint32], usable: npt.NDArray[np.bool_]) -> None:
    """Fill each empty bin from the next non-empty bin to its right (circularly), adding the
    distance so that borrowed values differ from the original ones."""
    empty = sig == _EMPTY
    if not empty.any():
        return
    for step in range(1, BINS):
        still = empty & usable[:, None]
        if not still.any():
            break
        rolled = np.roll(sig, -step, axis=1)
        fill = still & (rolled != _EMPTY) & ~np.roll(empty, -step, axis=1)
        sig[fill] = rolled[fill] + np.uint32(step * 0x9E37)
        empty &= ~fill


def band_keys(sig: npt.NDArray[np.uint32]) -> U64:
    """``n x BANDS`` keys: each band of ``ROWS`` bins hashed into 64 bits (band number mixed in)."""
    n = sig.shape[0]
    keys = np.zeros((n, BANDS), dtype=np.uint64)
    wide = sig.astype(np.uint64)
    for band in range(BANDS):
        k = np.full(n, band + 1, dtype=np.uint64) * _MUL
        for r in range(ROWS):
            k = (k ^ wide[:, band * ROWS + r]) * np.uint64(0x100000001B3)
        keys[:, band] = k
    return keys


def similarity(sig: npt.NDArray[np.uint32], a: I64, b: I64) -> npt.NDArray[np.float64]:
    """Estimated Jaccard similarity of pairs ``(a[i], b[i])``: the share of equal bins."""
    out: npt.NDArray[np.float64] = (sig[a] == sig[b]).mean(axis=1)
    return out


def deletion_hashes(strings: Sequence[str], *, max_len: int = 48) -> tuple[I64, U64]:
    """(owner, key): the hash of each string and of each one-character deletion of it.

    Strings longer than ``max_len`` are cut to it (an address that long is rare)."""
    owners, keys = [], []
    for start in range(0, len(strings), CHUNK):
        owner, key = _deletion_hashes(strings[start:start + CHUNK], max_len=max_len)
        owners.append(owner + start)
        keys.append(key)
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return np.concatenate(owners), np.concatenate(keys)


def _deletion_hashes(strings: Sequence[str], *, max_len: int) -> tuple[I64, U64]:
    n = len(strings)
    cut = [s[:max_len] for s in strings]
    lengths = np.fromiter((len(s) for s in cut), dtype=np.int64, count=n)
    width = int(lengths.max()) if n else 0
    padded = "".join(s.ljust(width, "\0") for s in cut)
    c = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).reshape(n, width) \
        .astype(np.uint64) if width else np.zeros((n, 0), dtype=np.uint64)
    base = np.uint64(0x100000001B3)
    powers = np.ones(width + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrapping arithmetic mod 2**64 is the point
        for i in range(1, width + 1):
            powers[i] = powers[i - 1] * base
    prefix = np.zeros((n, width + 1), dtype=np.uint64)  # prefix[:, i]: hash of s[:i]
    for i in range(width):
        prefix[:, i + 1] = prefix[:, i] * base + c[:, i] + np.uint64(1)
    suffix = np.zeros((n, width + 2), dtype=np.uint64)  # suffix[:, i]: hash of s[i:len]
    for i in range(width - 1, -1, -1):
        inside = i < lengths
        tail_len = np.maximum(lengths - i - 1, 0)
        suffix[:, i] = np.where(inside, (c[:, i] + np.uint64(1)) * powers[tail_len]
                                + suffix[:, i + 1], np.uint64(0))
    rows = np.arange(n)
    owners = [rows]
    keys = [prefix[rows, lengths] * _MUL]
    for i in range(width):
        where = np.flatnonzero(i < lengths)
        tail_len = lengths[where] - i - 1
        key = prefix[where, i] * powers[tail_len] + suffix[where, i + 1]
        owners.append(where)
        keys.append(key * _MUL)
    return np.concatenate(owners).astype(np.int64), np.concatenate(keys)
