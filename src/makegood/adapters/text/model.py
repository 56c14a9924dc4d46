"""The triage classifier: multinomial logistic regression over the features of ``features.py``.

A linear model, so that every prediction is a sum a reviewer can read: each feature of the text
adds its weight for each label, and the words with the largest share in the winning label's sum
are the ones shown as "the words that drove it". Trained here with numpy (full-batch Adam on the
L2-regularised cross-entropy, float64, fixed order, no randomness), so the same corpus always
gives the same weights; the weights ship in the package as gzip-compressed JSON
(``triage_model.json.gz``), rounded to 4 decimals, with the vocabulary.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from makegood.adapters.text.features import featurize, shown
from makegood.domain.triage import Label, category, is_damage

MODEL_FILE = "triage_model.json.gz"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    probability: float
    drivers: tuple[str, ...]  # the words that drove it, strongest first

    @property
    def damage(self) -> bool:
        return is_damage(self.label)

    @property
    def category(self) -> str:
        return category(self.label).value


@dataclass(frozen=True, slots=True)
class _Matrix:
    """Rows of a sparse matrix in CSR form: row ``i`` is ``indices[indptr[i]:indptr[i+1]]``."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    values: FloatArray
    rows: int

    @property
    def row_of(self) -> npt.NDArray[np.int64]:
        return np.repeat(np.arange(self.rows, dtype=np.int64), np.diff(self.indptr))


def _matrix(feature_sets: Sequence[set[str]], vocab: dict[str, int]) -> _Matrix:
    indptr = [0]
    indices: list[int] = []
    for feats in feature_sets:
        known = sorted(vocab[f] for f in feats if f in vocab)
        indices.extend(known)
        indptr.append(len(indices))
    ptr = np.asarray(indptr, dtype=np.int64)
    counts = np.diff(ptr)
    norms = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1)), 0.0)
    values = np.repeat(norms, counts).astype(np.float64)
    return _Matrix(ptr, np.asarray(indices, dtype=np.int64), values, len(feature_sets))


class TriageModel:
    """Weights per (feature, label) and a bias per label."""

    def __init__(self, vocabulary: list[str], weights: FloatArray, bias: FloatArray,
                 labels: Sequence[Label]) -> None:
        self.vocabulary = vocabulary
        self.index = {f: i for i, f in enumerate(vocabulary)}
        self.weights = weights
        self.bias = bias
        self.labels = tuple(labels)

    # -- training ------------------------------------------------------------------------------

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[Label], *, min_count: int = 2,
              l2: float = 1e-4, epochs: int = 300, rate: float = 0.05) -> TriageModel:
        """Fit on ``texts``; features seen in fewer than ``min_count`` texts are dropped."""
        feature_sets = featurize(texts)
        counts: Counter[str] = Counter(f for feats in feature_sets for f in feats)
        vocabulary = sorted(f for f, n in counts.items() if n >= min_count)
        vocab = {f: i for i, f in enumerate(vocabulary)}
        classes = list(Label)
        x = _matrix(feature_sets, vocab)
        y = np.asarray([classes.index(label) for label in labels], dtype=np.int64)
        n_feat, n_cls = len(vocabulary), len(classes)
        w = np.zeros((n_feat, n_cls))
        b = np.zeros(n_cls)
        onehot = np.zeros((x.rows, n_cls))
        onehot[np.arange(x.rows), y] = 1.0
        row_of = x.row_of
        moments = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for step in range(1, epochs + 1):
            probs = _softmax(_scores(x, row_of, w, b))
            diff = (probs - onehot) / x.rows
            grad_w = np.empty_like(w)
            contrib = x.values[:, None] * diff[row_of]
            for c in range(n_cls):
                grad_w[:, c] = np.bincount(x.indices, weights=contrib[:, c], minlength=n_feat)
            grad_w += l2 * w
            grad_b = diff.sum(axis=0)
            for param, grad, m, v in ((w, grad_w, moments[0], moments[1]),
                                      (b, grad_b, moments[2], moments[3])):
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                step_size = rate * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                param -= step_size * m / (np.sqrt(v) + eps)
        return cls(vocabulary, np.round(w, 4), np.round(b, 4), classes)

    # -- prediction ----------------------------------------------------------------------------

    def predict(self, texts: Sequence[str], *, top: int = 5) -> list[Prediction]:
        """The label of each text, its probability and the ``top`` features that drove it."""
        if not texts:
            return []
        feature_sets = featurize(texts)
        x = _matrix(feature_sets, self.index)
        probs = _softmax(_scores(x, x.row_of, self.weights, self.bias))
        out = []
        for i in range(x.rows):
            best = int(np.argmax(probs[i]))
            cols = x.indices[x.indptr[i]:x.indptr[i + 1]]
            share = x.values[x.indptr[i]:x.indptr[i + 1]] * (
                self.weights[cols, best] - self.weights[cols].mean(axis=1))
            # Words and word pairs first (a reviewer reads words); letter runs fill up to ``top``.
            is_char = np.asarray([self.vocabulary[c].startswith("c:") for c in cols])
            order = np.lexsort((cols, -share, is_char))  # ties by feature index: stable output
            drivers = tuple(w for w in (shown(self.vocabulary[cols[j]]) for j in order
                                        if share[j] > 0) if not _bland(w))[:top]
            out.append(Prediction(self.labels[best], float(probs[i, best]), drivers))
        return out

    # -- storage -------------------------------------------------------------------------------

    def dump(self, path: Path) -> None:
        """Write the model as gzip JSON; the bytes depend on the weights only (no timestamp)."""
        keep = np.flatnonzero(np.abs(self.weights).max(axis=1) >= 1e-4)
        document = {
            "format": "makegood-triage-1",
            "labels": [label.value for label in self.labels],
            "bias": [float(v) for v in self.bias],
            "features": {self.vocabulary[i]: [float(v) for v in self.weights[i]] for i in keep},
        }
        raw = json.dumps(document, ensure_ascii=False, sort_keys=True,
                         separators=(",", ":")).encode()
        path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))

    @classmethod
    def load(cls, path: Path | None = None) -> TriageModel:
        """The model at ``path``, or the one shipped with makegood."""
        if path is None:
            raw = resources.files("makegood.adapters.text").joinpath(MODEL_FILE).read_bytes()
        else:
            raw = path.read_bytes()
        document = json.loads(gzip.decompress(raw))
        vocabulary = sorted(document["features"])
        weights = np.asarray([document["features"][f] for f in vocabulary], dtype=np.float64)
        labels = [Label(v) for v in document["labels"]]
        return cls(vocabulary, weights.reshape(len(vocabulary), len(labels)),
                   np.asarray(document["bias"], dtype=np.float64), labels)


# Verb stems and particles that carry weight but tell a reviewer nothing: not shown as drivers.
_BLAND = frozenset({"하", "되", "있", "주", "이", "것", "수", "들", "좀", "안", "다", "고", "보"})


def _bland(word: str) -> bool:
    return all(part in _BLAND for part in word.split(" "))


def _scores(x: _Matrix, row_of: npt.NDArray[np.int64], w: FloatArray, b: FloatArray
            ) -> FloatArray:
    gathered = x.values[:, None] * w[x.indices]
    out = np.empty((x.rows, w.shape[1]))
    for c in range(w.shape[1]):
        out[:, c] = np.bincount(row_of, weights=gathered[:, c], minlength=x.rows)
    return out + b


def _softmax(scores: FloatArray) -> FloatArray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: FloatArray = shifted / shifted.sum(axis=1, keepdims=True)
    return result
