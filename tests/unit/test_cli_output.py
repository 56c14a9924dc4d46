"""Tables the CLI prints keep every value whole: off a terminal, on a wide one, on a narrow one."""

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from makegood.entrypoints.cli.output import Column, Table, print_table

LONG_TOTAL = "1,524,707,800"
LONG_UNIT = "emoticon-pack-3"


def awards() -> Table:
    table = Table(title="Awards by service and kind",
                  columns=[Column("service"), Column("kind"), Column("unit"), Column("awards", "right"),
                           Column("total", "right")])
    table.add_row("messenger", "item", LONG_UNIT, "95,996", "95,996")
    table.add_row("messenger", "review", "KRW", "1,919", LONG_TOTAL)
    table.add_section()
    table.add_row("카카오T", "credit", "[bold]KRW[/bold]", "630", "4,756,500")
    return table


VALUES = [LONG_UNIT, LONG_TOTAL, "95,996", "1,919", "카카오T", "[bold]KRW[/bold]", "4,756,500"]


def render(*, terminal: bool, width: int) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=width, color_system=None,
                      soft_wrap=True)
    print_table(awards(), console)
    return buffer.getvalue()


def test_off_a_terminal_rows_are_plain_aligned_lines():
    text = render(terminal=False, width=40)
    lines = text.splitlines()
    assert lines[0] == "Awards by service and kind"
    assert lines[1].split() == ["service", "kind", "unit", "awards", "total"]
    assert lines[3].split() == ["messenger", "review", "KRW", "1,919", LONG_TOTAL]
    assert lines[4] == ""  # a section break
    assert lines[5].split() == ["카카오T", "credit", "[bold]KRW[/bold]", "630", "4,756,500"]
    # right-justified totals end in the same column, Hangul counted as two cells
    assert len({cell_len(line) for line in (lines[2], lines[3], lines[5])}) == 1
    assert not any(ch in text for ch in "…│┃")


@pytest.mark.parametrize("width", [40, 60])
def test_a_narrow_terminal_gets_one_block_per_row_with_every_value_whole(width: int):
    text = render(terminal=True, width=width)
    for value in VALUES:
        assert value in text
    assert "…" not in text
    assert f"  total: {LONG_TOTAL}" in text.splitlines()


def test_a_wide_terminal_gets_a_table_with_every_value_whole():
    text = render(terminal=True, width=100)
    assert "┃" in text  # the boxed layout
    for value in VALUES:
        assert value in text
    assert "…" not in text


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="2 cells for 5 columns"):
        awards().add_row("a", "b")
