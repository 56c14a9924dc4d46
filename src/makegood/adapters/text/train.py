"""Train the triage classifier on the generated corpus and measure it on the held-out sets.

``make train-triage`` (or ``python -m makegood.adapters.text.train``) regenerates the corpus
from its seed, trains on the training part only, writes the model into the package and the
evaluation (precision, recall, F1 per label, the confusion matrices, the damage yes/no figures)
between the markers of ``docs/triage.md``. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from makegood.adapters.text.corpus import DEFAULT_SEED, DEFAULT_SIZE, Example, generate, split
from makegood.adapters.text.model import MODEL_FILE, TriageModel
from makegood.domain.triage import Label, is_damage

UNSEEN_SIZE = 1000
START, END = "<!-- triage-evaluation:start -->", "<!-- triage-evaluation:end -->"


@dataclass(frozen=True, slots=True)
class Scores:
    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]  # matrix[true][predicted]

    def per_label(self) -> list[tuple[str, float, float, float, int]]:
        out = []
        for i, name in enumerate(self.labels):
            tp = self.matrix[i][i]
            predicted = sum(row[i] for row in self.matrix)
            actual = sum(self.matrix[i])
            precision = tp / predicted if predicted else 0.0
            recall = tp / actual if actual else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out.append((name, precision, recall, f1, actual))
        return out

    @property
    def accuracy(self) -> float:
        total = sum(sum(row) for row in self.matrix)
        return sum(self.matrix[i][i] for i in range(len(self.labels))) / total if total else 0.0

    @property
    def macro_f1(self) -> float:
        rows = self.per_label()
        return sum(r[3] for r in rows) / len(rows)


def score(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Scores:
    index = {name: i for i, name in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    return Scores(tuple(labels), tuple(tuple(r) for r in matrix))


def evaluate(model: TriageModel, examples: Sequence[Example]) -> tuple[Scores, Scores]:
    """(ten labels, damage yes/no) on ``examples``."""
    predictions = model.predict([e.text for e in examples])
    labels = [label.value for label in Label]
    by_label = score([e.label.value for e in examples], [p.label.value for p in predictions],
                     labels)
    damage = score(["yes" if is_damage(e.label) else "no" for e in examples],
                   ["yes" if p.damage else "no" for p in predictions], ["yes", "no"])
    return by_label, damage


def markdown(title: str, scores: Scores) -> str:
    lines = [f"**{title}**: accuracy {scores.accuracy:.3f}, macro F1 {scores.macro_f1:.3f}", "",
             "| label | precision | recall | F1 | texts |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {n} | {p:.3f} | {r:.3f} | {f:.3f} | {c} |" for n, p, r, f, c in scores.per_label()]
    short = [n[:8] for n in scores.labels]
    lines += ["", "Confusion matrix (rows: true label, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(short) + " |",
              "|---|" + "---:|" * len(short)]
    lines += [f"| {n} | " + " | ".join(str(v) for v in row) + " |"
              for n, row in zip(scores.labels, scores.matrix, strict=True)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--model", type=Path, default=Path(__file__).with_name(MODEL_FILE))
    parser.add_argument("--docs", type=Path, default=Path("docs/triage.md"))
    args = parser.parse_args(argv)
    examples = generate(args.size, seed=args.seed)
    train, held_out = split(examples, seed=args.seed)
    unseen = generate(UNSEEN_SIZE, seed=args.seed, pool="unseen")
    started = time.perf_counter()
    model = TriageModel.train([e.text for e in train], [e.label for e in train])
    took = time.perf_counter() - started
    model.dump(args.model)
    digest = hashlib.sha256(args.model.read_bytes()).hexdigest()[:16]
    print(f"trained on {len(train):,} texts in {took:.1f} s; {len(model.vocabulary):,} features; "
          f"wrote {args.model} (sha256 {digest}…)")
    model = TriageModel.load(args.model)  # measure what ships, after rounding
    parts = [f"Corpus: {len(examples):,} texts (seed {args.seed}), {len(train):,} for training, "
             f"{len(held_out):,} held out; {len(unseen):,} more from templates never used in "
             f"training. Model file sha256 prefix `{digest}`, {len(model.vocabulary):,} features.",
             ""]
    for title, data in (("Held-out texts (templates seen in training)", held_out),
                        ("Held-out texts from unseen templates", unseen)):
        by_label, damage = evaluate(model, data)
        parts += [markdown(title + ", ten labels", by_label), "",
                  markdown(title + ", damage claim yes/no", damage), ""]
        print(f"{title}: accuracy {by_label.accuracy:.3f}, macro F1 {by_label.macro_f1:.3f}, "
              f"damage yes/no accuracy {damage.accuracy:.3f}")
    if args.docs.exists():
        text = args.docs.read_text(encoding="utf-8")
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            args.docs.write_text(head + START + "\n" + "\n".join(parts) + "\n" + END + tail,
                                 encoding="utf-8")
            print(f"evaluation written into {args.docs}")


if __name__ == "__main__":
    main()
