"""The batch plan under its earlier module name (kept while other code still imports it from
here): :mod:`makegood.adapters.batch.plan`, re-exported unchanged."""

from __future__ import annotations

from makegood.adapters.batch.plan import *  # noqa: F403
from makegood.adapters.batch.plan import __all__ as __all__
