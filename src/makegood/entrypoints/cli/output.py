"""Tables the CLI prints, laid out so that no value is ever cut.

Rich shortens a cell that does not fit (``emoticon-pac…``, ``1,524,707,8…``); a compensation
figure or an account id with its last digits missing is worse than no figure. So every table
the commands print goes through :func:`print_table`, which picks one of three layouts:

- not a terminal (a pipe, a file, CI logs): plain aligned lines, as wide as the values need,
  one row per line, so ``grep`` and ``diff`` work on the output;
- a terminal wide enough for every value whole: a Rich table whose columns never shrink;
- a narrower terminal: one block per row, each value on its own ``header: value`` line.

Cells are plain text, never Rich markup, so an id such as ``[A-1]`` prints as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

# Lines are never broken by Rich (a terminal wraps them on screen, a file keeps them whole), so
# a duration or an id in a sentence is never split across lines.
console = Console(soft_wrap=True)

Justify = Literal["left", "right"]


@dataclass(frozen=True)
class Column:
    header: str
    justify: Justify = "left"


@dataclass
class Table:
    """A title, columns and rows of already formatted strings (sections split the rows)."""

    title: str
    columns: list[Column]
    show_header: bool = True
    sections: list[list[tuple[str, ...]]] = field(default_factory=lambda: [[]])

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns in {self.title!r}")
        self.sections[-1].append(tuple(cells))

    def add_section(self) -> None:
        if self.sections[-1]:
            self.sections.append([])

    @property
    def rows(self) -> list[tuple[str, ...]]:
        return [row for section in self.sections for row in section]

    def widths(self) -> list[int]:
        """Each column's width in terminal cells: its widest value (or header line)."""
        widths = []
        for i, column in enumerate(self.columns):
            cells = [row[i] for row in self.rows]
            if self.show_header:
                cells.extend(column.header.splitlines())
            widths.append(max((_width(c) for c in cells), default=0))
        return widths


def _width(text: str) -> int:
    """Cells a string takes on a terminal (a Hangul syllable takes two)."""
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _pad(text: str, width: int, justify: Justify) -> str:
    gap = " " * (width - cell_len(text))
    return gap + text if justify == "right" else text + gap


def print_table(table: Table, target: Console | None = None) -> None:
    """Print ``table`` whole: plain lines off a terminal, a table or blocks on one."""
    out = target or console
    if not out.is_terminal:
        _plain(table, out)
    elif _boxed_width(table) <= out.width:
        _boxed(table, out)
    else:
        _blocks(table, out)


def _boxed_width(table: Table) -> int:
    # each column: its widest value + one space of padding either side + one border line
    return sum(w + 3 for w in table.widths()) + 1


def _boxed(table: Table, out: Console) -> None:
    rich = RichTable(title=Text(table.title), show_header=table.show_header, box=box.HEAVY_HEAD)
    for column, width in zip(table.columns, table.widths(), strict=True):
        rich.add_column(Text(column.header), justify=column.justify, no_wrap=True, min_width=width,
                        overflow="fold")
    for number, section in enumerate(table.sections):
        if number:
            rich.add_section()
        for row in section:
            rich.add_row(*(Text(cell) for cell in row))
    out.print(rich, soft_wrap=False)


def _plain(table: Table, out: Console) -> None:
    """Aligned columns two spaces apart, no borders and no width limit."""
    widths = table.widths()
    lines = [table.title]
    if table.show_header:
        headers = [c.header.replace("\n", " ") for c in table.columns]
        widths = [max(w, cell_len(h)) for w, h in zip(widths, headers, strict=True)]
        lines.append(_line(headers, table.columns, widths))
    for number, section in enumerate(table.sections):
        if number:
            lines.append("")
        lines.extend(_line(row, table.columns, widths) for row in section)
    for line in lines:
        out.out(line, highlight=False)
    out.out("")


def _line(cells: tuple[str, ...] | list[str], columns: list[Column], widths: list[int]) -> str:
    parts = [_pad(cell, width, column.justify) for cell, column, width in zip(cells, columns, widths,
                                                                                  strict=True)]
    return "  ".join(parts).rstrip()


def _blocks(table: Table, out: Console) -> None:
    """One block per row: the first cell as its heading, then ``header: value`` lines."""
    out.print(Text(table.title, style="italic"), soft_wrap=True)
    headers = [c.header.replace("\n", " ") for c in table.columns]
    for number, section in enumerate(table.sections):
        if number:
            out.print(Text("-" * min(out.width, 20)))
        for row in section:
            if not table.show_header and len(row) == 2:
                out.print(Text(f"{row[0]}: {row[1]}"), soft_wrap=True)
                continue
            out.print(Text(row[0] or headers[0], style="bold"), soft_wrap=True)
            for header, cell in zip(headers[1:], row[1:], strict=True):
                out.print(Text(f"  {header}: {cell}"), soft_wrap=True)
    out.print()
