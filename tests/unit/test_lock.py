"""requirements.lock: it matches pyproject.toml, pins with hashes, and `make lock` reports changes."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("lock", ROOT / "tools" / "lock.py")
assert spec is not None
assert spec.loader is not None
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)


def test_the_committed_lock_was_made_from_the_current_pyproject():
    # fails when someone edits pyproject.toml's dependencies without running `make lock`
    assert lock.recorded_digest() == lock.pyproject_digest(), "run `make lock` and commit the lock"


def test_every_locked_package_is_pinned_to_one_version_with_hashes():
    text = lock.LOCK.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 6)[-1])
    pinned = [b for b in blocks if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", b)]
    assert len(pinned) == len(lock.pins(text)) > 50
    assert all("--hash=sha256:" in block for block in pinned)
    for name in ("duckdb", "pyarrow", "pyspark", "pytest", "pip", "setuptools"):
        assert name in lock.pins(text)


def test_a_changed_dependency_list_changes_the_digest(tmp_path: Path):
    changed = tmp_path / "pyproject.toml"
    changed.write_text(lock.PYPROJECT.read_text(encoding="utf-8").replace(
        '"rich>=13",', '"rich>=13",\n    "six>=1",'), encoding="utf-8")
    assert lock.pyproject_digest(changed) != lock.pyproject_digest()


def test_a_change_elsewhere_in_pyproject_keeps_the_digest(tmp_path: Path):
    changed = tmp_path / "pyproject.toml"
    changed.write_text(lock.PYPROJECT.read_text(encoding="utf-8").replace(
        "line-length = 110", "line-length = 100"), encoding="utf-8")
    assert lock.pyproject_digest(changed) == lock.pyproject_digest()


def test_changes_name_new_removed_and_major_upgrades():
    old = {"duckdb": "1.4.0", "rich": "13.9.0", "six": "1.16.0"}
    new = {"duckdb": "2.0.1", "rich": "13.9.4", "uv": "0.13.9"}
    assert lock.changes(old, new) == [
        "  ~ duckdb 1.4.0 -> 2.0.1  (major version: read its changelog)",
        "  ~ rich 13.9.0 -> 13.9.4",
        "  - six 1.16.0 (removed)",
        "  + uv 0.13.9 (new)",
    ]


def test_check_passes_on_the_committed_lock():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "lock.py"), "check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
