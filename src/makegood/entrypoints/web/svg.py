"""Small server-rendered SVG charts for the console: horizontal bars and a column series.

Presentation attributes only (no ``style``), so the pages' Content-Security-Policy allows them
inline; each chart has a ``<title>`` and the page shows the same figures in a table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from makegood.domain.money import format_amount

COLOUR = "#1f5f99"
WIDTH = 480


def _id(title: str) -> str:
    return hashlib.sha256(title.encode()).hexdigest()[:10]


def _num(value: Decimal | int) -> str:
    return format_amount(Decimal(value))


def bars(title: str, items: Sequence[tuple[str, Decimal | int]], *, colour: str = COLOUR) -> str:
    """Horizontal bars, one per (label, value), largest scale at the widest value."""
    if not items:
        return ""
    row, label_w, value_w = 26, 170, 90
    height = row * len(items) + 10
    top = max((Decimal(v) for _, v in items), default=Decimal(0)) or Decimal(1)
    span = WIDTH - label_w - value_w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-labelledby="t-{_id(title)}" class="chart">',
             f'<title id="t-{_id(title)}">{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = int(span * Decimal(value) / top) if Decimal(value) > 0 else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="13" '
                     f'fill="#222">{escape(label[:24])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="{row - 8}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 17}" font-size="13" '
                     f'fill="#222">{escape(_num(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(title: str, items: Sequence[tuple[str, int]], *, colour: str = COLOUR) -> str:
    """Columns over time (claims per hour or day); labels under the first, middle and last."""
    if not items:
        return ""
    height, bottom, left = 180, 30, 40
    top = max(v for _, v in items) or 1
    step = (WIDTH - left - 10) / len(items)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-labelledby="t-{_id(title)}" class="chart">',
             f'<title id="t-{_id(title)}">{escape(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 5}" y2="{height - bottom}" '
             'stroke="#555"/>',
             f'<text x="{left - 4}" y="14" text-anchor="end" font-size="12" fill="#222">{top}</text>']
    for i, (label, value) in enumerate(items):
        h = (height - bottom - 20) * value / top
        x = left + i * step
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" '
                     f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{colour}"/>')
        if i in (0, len(items) // 2, len(items) - 1):
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="11" '
                         f'fill="#222">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
