"""Moved: app-wide settings live in :mod:`makegood.config` (kept so older imports work)."""

from makegood.config import DEFAULT_URL, Settings

__all__ = ["DEFAULT_URL", "Settings"]
