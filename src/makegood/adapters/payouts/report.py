"""The final accounting rendered: HTML (Jinja2) with SVG charts (matplotlib), PDF (WeasyPrint),
and the same figures as JSON.

Hangul needs a CJK font: WeasyPrint uses Noto Sans CJK KR when fontconfig has it
(fonts-noto-cjk), else the NanumGothic file that ``koreanize-matplotlib`` ships, loaded with
@font-face; the charts use the same NanumGothic (adapters/charts.py). Nothing is downloaded.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from makegood.adapters.charts import font_families
from makegood.adapters.ledger import atomic_path
from makegood.domain.money import format_amount

_env = Environment(loader=PackageLoader("makegood.adapters.payouts", "templates"),
                   autoescape=select_autoescape(["html"]))


def _fmt(value: Any) -> str:
    from decimal import Decimal

    try:
        return format_amount(Decimal(str(value)))
    except ArithmeticError:
        return str(value)


_env.filters["amount"] = _fmt


def _nanum() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    font = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
    return font if font.is_file() else None


def _bar_svg(title: str, labels: list[str], values: list[float]) -> str | None:
    """A small bar chart as an inline SVG data URI (the tables beside it carry the exact
    figures); ``None`` when there is nothing to draw."""
    if not values or not any(values):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = font_families()
    plt.rcParams["svg.fonttype"] = "path"
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(6, 0.8 + 0.35 * len(values)))
    try:
        ax.barh(labels, values, color="#2c7fb8")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.set_title(title, fontsize=10)
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def charts(figures: dict[str, Any]) -> dict[str, str | None]:
    """Claims by category, and per fund currency the amounts awarded and paid by method (one
    chart per currency: bars in different units never share an axis)."""
    by_category = figures["claims"]["by_category"]
    out: dict[str, str | None] = {
        "claims": _bar_svg("Claims received by category / 범주별 접수", list(by_category),
                           [v.get("received", 0) for v in by_category.values()])}
    awarded = figures["awards"]["awarded_by_method"]
    paid = figures["awards"]["paid_by_method"]
    for currency in figures["fund"]:
        methods = [m for m, units in awarded.items() if currency in units]
        labels = [f"{m} {kind}" for m in methods for kind in ("awarded", "paid")]
        values = [float(source.get(m, {}).get(currency, 0)) for m in methods
                  for source in (awarded, paid)]
        out[f"paid {currency}"] = _bar_svg(
            f"Awarded and paid by method, {currency} / 지급 방법별 보상", labels, values)
    return out


def render_html(figures: dict[str, Any], *, for_pdf: bool = False,
                drawn: dict[str, str | None] | None = None) -> str:
    nanum = _nanum()
    return _env.get_template("accounting.html").render(
        f=figures, charts=drawn if drawn is not None else charts(figures), for_pdf=for_pdf,
        nanum=nanum.as_uri() if nanum else None)


def write_report(figures: dict[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    """``stem``.json, ``stem``.html and ``stem``.pdf in ``out_dir``, each written atomically."""
    from weasyprint import HTML

    paths = {"json": out_dir / f"{stem}.json", "html": out_dir / f"{stem}.html",
             "pdf": out_dir / f"{stem}.pdf"}
    with atomic_path(paths["json"]) as tmp:
        tmp.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    drawn = charts(figures)
    with atomic_path(paths["html"]) as tmp:
        tmp.write_text(render_html(figures, drawn=drawn), encoding="utf-8")
    with atomic_path(paths["pdf"]) as tmp:
        HTML(string=render_html(figures, for_pdf=True, drawn=drawn)).write_pdf(str(tmp))
    return paths
