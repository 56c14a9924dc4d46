"""Ledger files appear whole or not at all, and leftovers of killed runs are cleared."""

import subprocess
import sys

import pytest

from makegood.adapters.ledger import atomic_path


def test_a_failed_write_leaves_nothing_under_the_final_name(tmp_path):
    target = tmp_path / "ledger.parquet"

    def interrupted_write() -> None:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted_write()
    assert list(tmp_path.iterdir()) == []


def test_partials_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    target = tmp_path / "ledger.parquet"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    leftover = tmp_path / f".ledger.parquet.partial-{int(dead.stdout)}"
    leftover.write_bytes(b"half")
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"whole")
    assert not leftover.exists()
    assert target.read_bytes() == b"whole"
