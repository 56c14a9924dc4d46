"""Suite-wide test set-up.

A fresh machine has only Python: the Spark tests need a Java runtime, and without one they are
skipped, except in CI (``CI`` set), where a missing Java must fail the run rather than hide it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.notify_servers import HttpSink, SmtpSink


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") or _java_available():
        return
    skip = pytest.mark.skip(reason="needs a Java runtime for PySpark (CI provides one)")
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(skip)


# Real servers on loopback for the notice tests (tests/notify_servers.py), each test its own.
@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    from tests.notify_servers import SmtpSink

    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def http() -> Iterator[HttpSink]:
    from tests.notify_servers import HttpSink

    sink = HttpSink()
    yield sink
    sink.stop()
