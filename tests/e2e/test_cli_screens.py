"""What a new user sees first, run as a user runs it: the demo through a pipe and on a narrow
terminal (every value whole), the next step it suggests, `--version`, and how fast commands start.
"""

import json
import os
import pty
import re
import shlex
import subprocess
import sys
from decimal import Decimal
from importlib import metadata
from pathlib import Path

import pytest

from makegood.domain.money import format_amount
from makegood.entrypoints.cli import version

MAKEGOOD = [sys.executable, "-m", "makegood.entrypoints.cli.main"]
ACCOUNTS = 3_000
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAKEGOOD, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env}, check=False)


def on_terminal(args: list[str], columns: int) -> str:
    """Run on a pseudo-terminal ``columns`` wide; what the program wrote, without colour codes."""
    import fcntl
    import struct
    import termios

    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    process = subprocess.Popen([*MAKEGOOD, *args], stdin=secondary, stdout=secondary,
                               stderr=secondary, env=env, close_fds=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(timeout=120) == 0, b"".join(chunks).decode()
    return ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r", "")


def summary_values(ledger: Path) -> list[str]:
    """Every figure, id and unit the demo's tables show, formatted as the CLI formats them."""
    summary = json.loads(Path(f"{ledger}.summary.json").read_text(encoding="utf-8"))
    values = [f"{summary[k]:,}" for k in ("accounts", "subscriptions", "accounts_affected", "awards")]
    values += [format_amount(Decimal(v)) for v in summary["liability"].values()]
    for row in summary["by_service"]:
        values += [row["service"], row["kind"], row["unit"], f"{row['awards']:,}",
                   format_amount(Decimal(row["total"]))]
    return values


@pytest.fixture(scope="module")
def piped_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("demo")
    done = run(["demo", "--accounts", str(ACCOUNTS), "--out", str(out)])
    assert done.returncode == 0, done.stderr
    return done.stdout, out


def test_the_demo_through_a_pipe_prints_every_value_whole(piped_demo: tuple[str, Path]):
    stdout, out = piped_demo
    assert "…" not in stdout
    lines = stdout.splitlines()
    for value in summary_values(out / "ledger.parquet"):
        assert any(re.search(rf"(^|\s){re.escape(value)}(\s|$)", line) for line in lines), value
    assert "emoticon-pack-3" in stdout


def test_the_demo_says_why_fewer_accounts_are_read_than_generated(piped_demo: tuple[str, Path]):
    stdout, out = piped_demo
    summary = json.loads((out / "ledger.parquet.summary.json").read_text(encoding="utf-8"))
    missing = ACCOUNTS - summary["accounts"]
    assert missing > 0  # the generator gives some accounts no subscription at all
    assert (f"{ACCOUNTS:,} accounts generated; {summary['accounts']:,} hold at least one "
            f"subscription") in stdout
    assert f"the other {missing:,} hold none" in stdout


def test_the_demo_ends_with_an_explain_command_that_works(piped_demo: tuple[str, Path]):
    stdout, out = piped_demo
    tail = stdout[stdout.index("Try next"):]
    assert "makegood serve --demo" in tail
    assert str(out / "ledger.parquet") in tail
    command = next(line.strip() for line in tail.splitlines() if line.strip().startswith("makegood explain"))
    args = shlex.split(command)[1:]
    account = args[args.index("--account") + 1]
    done = run(args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"account {account}" in done.stdout
    assert "every ledger row matches the reference" in done.stdout
    assert "matches the reference" in done.stdout


def test_the_demo_on_a_40_column_terminal_prints_every_value_whole(tmp_path: Path):
    screen = on_terminal(["demo", "--accounts", str(ACCOUNTS), "--out", str(tmp_path)], columns=40)
    screen = screen[screen.index("Pangyo data-center fire"):]  # after the (erased) progress bars
    assert "…" not in screen
    lines = screen.splitlines()
    for value in summary_values(tmp_path / "ledger.parquet"):
        assert any(re.search(rf"(^|\s){re.escape(value)}(\s|$)", line) for line in lines), value


def test_version_names_makegood_and_each_engine_found():
    done = run(["--version"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"makegood {metadata.version('makegood')}"
    assert f"  DuckDB {metadata.version('duckdb')} (default batch engine)" in lines
    assert f"  PySpark {metadata.version('pyspark')} (--engine spark)" in lines
    assert f"  psycopg {metadata.version('psycopg')} (PostgreSQL driver)" in lines
    assert any(line.startswith("  Java ") for line in lines)


def test_version_says_java_is_not_found_where_it_is_absent(tmp_path: Path):
    done = run(["--version"], JAVA_HOME=str(tmp_path))
    assert "  Java not found ($JAVA_HOME/bin/java), for PySpark" in done.stdout.splitlines()


def test_a_java_that_hangs_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\nexec sleep 30\n", encoding="utf-8")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert version.java_version(timeout=0.5) == f"{java} did not answer `-version` within 0.5 s"


HEAVY = ("pyarrow", "numpy", "duckdb", "pyspark", "pandas")
PROBE = """
import sys
from makegood.entrypoints.cli.main import app
try:
    app({args!r}, standalone_mode=False)
except SystemExit:
    pass
print(sorted(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("command", [
    ["policy", "check", "POLICY"],
    ["incident", "show", "INCIDENT"],
    ["incident", "import", "--from", "csv", "CSV", "--out", "OUT", "--as-of", "2022-10-20T23:00:00+09:00"],
])
def test_incident_and_policy_commands_start_without_the_batch_engines(command: list[str], tmp_path: Path):
    from makegood import policies

    csv = Path(__file__).parents[1] / "fixtures" / "importers" / "kakao-2022.csv"
    incident = tmp_path / "incident.toml"
    assert run(["incident", "import", "--from", "csv", str(csv), "--out", str(incident),
                "--as-of", "2022-10-20T23:00:00+09:00"]).returncode == 0
    places = {"POLICY": str(policies.path("content-3x")), "INCIDENT": str(incident), "CSV": str(csv),
              "OUT": str(tmp_path / "again.toml")}
    args = [places.get(a, a) for a in command]
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]", done.stdout
