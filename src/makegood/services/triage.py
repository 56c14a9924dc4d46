"""Classify a table of report texts: the triage of reports exported from an old form.

A CSV or TSV file with a column ``text`` (other columns are kept as they are) gets four more
columns: ``damage`` (``yes``/``no``), ``category`` (a claim category, ``other`` for a non-claim),
``label`` (the classifier's label) and ``drivers`` (the words that drove it, ``; ``-separated).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from makegood.domain.errors import InputError
from makegood.domain.incident import nfc
from makegood.services.screening import Classifier

ADDED = ("damage", "category", "label", "drivers")
BATCH = 500


def read_table(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    """(delimiter, header, rows) of a CSV or TSV file; the delimiter is a tab for ``.tsv``/
    ``.tab`` files or when the header line has a tab and no comma."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError("no such file", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text (byte {exc.start})", file=str(path)) from None
    first = text.split("\n", 1)[0]
    tab = path.suffix.lower() in (".tsv", ".tab") or ("\t" in first and "," not in first)
    delimiter = "\t" if tab else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = list(reader.fieldnames or [])
        if "text" not in header:
            raise InputError(f"has no column 'text' (columns: {', '.join(header) or 'none'})",
                             file=str(path), line=1, field="text")
        clash = [c for c in ADDED if c in header]
        if clash:
            raise InputError(f"already has the column(s) {', '.join(clash)} that classify adds; "
                             "rename them", file=str(path), line=1)
        rows = []
        for row in reader:
            if None in row:
                raise InputError(f"has {len(header) + len(row[None])} fields; the header has "
                                 f"{len(header)}", file=str(path), line=reader.line_num)
            rows.append({k: v or "" for k, v in row.items()})
    except csv.Error as exc:
        raise InputError(f"is not valid CSV: {exc}", file=str(path), line=reader.line_num) from None
    return delimiter, header, rows


def classify_rows(rows: list[dict[str, str]], *, classifier: Classifier,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Add the four columns to every row, in place."""
    for start in range(0, len(rows), BATCH):
        part = rows[start:start + BATCH]
        for row, p in zip(part, classifier.predict([nfc(r["text"]) for r in part]), strict=True):
            row.update({"damage": "yes" if p.damage else "no", "category": p.category,
                        "label": p.label.value, "drivers": "; ".join(p.drivers)})
        if progress:
            progress(min(start + BATCH, len(rows)), len(rows))


def write_table(out: io.TextIOBase | io.StringIO, *, delimiter: str, header: Sequence[str],
                rows: list[dict[str, str]]) -> None:
    writer = csv.DictWriter(out, fieldnames=[*header, *ADDED], delimiter=delimiter,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
