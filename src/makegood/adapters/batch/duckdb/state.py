"""What one run of the DuckDB engine holds: its connection and the templates of its awards."""

from __future__ import annotations

import duckdb

from makegood.adapters.batch.plan import Template
from makegood.adapters.batch.plan.awards_sql import AMOUNT

__all__ = ["AMOUNT", "RunState"]


class RunState:
    """One connection's worth of work: the awards table and what can be read from it.

    The steps of a run are mixed in over this state (:mod:`.pairs`, :mod:`.awards`,
    :mod:`.ledger`, :mod:`.summary`; composed in :class:`makegood.adapters.batch.duckdb.Run`).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.templates: list[Template] = []
        self.services: list[str] = []
        self.ordered = False  # whether ``pos`` sorts as (account, subscription) does
        self.streamed = False  # whether account-scoped rules were picked off the ordered input
        self.scoped: dict[tuple[int, int], int] = {}  # (policy, rule) -> its AccountPicker column
        self.target = "pawards"  # where the policy being computed puts its awards

    def _template(self, template: Template) -> int:
        self.templates.append(template)
        return len(self.templates) - 1

