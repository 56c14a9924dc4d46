"""Drill 7, batch faults: `makegood compensate` killed with SIGKILL at random moments, then rerun;
and a full disk.

Promises checked:
- a killed run never leaves a partial file at the target path: the ledger and its summary are
  each either absent or byte-identical to an uninterrupted run's (the ledger is renamed into
  place first, so a kill between the two renames leaves a whole ledger without its summary);
- partial files of killed runs are removed by the next run for the same target;
- the rerun's ledger is byte-identical to the uninterrupted run's;
- on a full disk (a small tmpfs) the run fails with a message that names the problem, exit
  code non-zero, and nothing at the target path.

    python drills/batch_faults.py --accounts 2300000 --kills 10     # about 5 M rows
    python drills/batch_faults.py --accounts 20000 --kills 10       # CI's short version
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from _common import MAKEGOOD, ROOT, report, run, workdir

POLICIES = [ROOT / "policies" / f"{p}.toml" for p in
            ("kakao-2022-paid", "kakao-2022-free-goodwill", "kakao-2022-small-business")]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def summary_of(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".summary.json")


def compensate_args(scenario: Path, out: Path) -> list[str]:
    args = [MAKEGOOD, "compensate", "--incident", str(scenario / "incident.toml"),
            "--accounts", str(scenario), "--sales", str(scenario / "sales"), "--out", str(out)]
    for policy in POLICIES:
        args += ["--policy", str(policy)]
    return args


def rows_of(scenario: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows
               for p in sorted((scenario / "subscriptions").glob("*.parquet")))


def full_disk(scenario: Path, work: Path, ledger_size: int) -> list[str]:
    """Run onto a tmpfs too small for the ledger; the error must say so, and leave nothing."""
    failures: list[str] = []
    mount = work / "small-disk"
    mount.mkdir()
    size = max(64 * 1024, ledger_size // 3)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        return [f"could not mount a small tmpfs (needs root): {mounted.stderr.strip()}"]
    try:
        target = mount / "ledger.parquet"
        result = run(compensate_args(scenario, target), check=False)
        message = (result.stderr + result.stdout).strip().splitlines()
        last = message[-1] if message else ""
        print(f"  full disk: exit {result.returncode}: {last}")
        if result.returncode == 0:
            failures.append("the run on a full disk reported success")
        if "space" not in (result.stderr + result.stdout).lower():
            failures.append(f"the full-disk error does not name the problem: {last!r}")
        if "Traceback" in result.stderr:
            failures.append("the full-disk error printed a traceback")
        left = sorted(p.name for p in mount.iterdir())
        if target.exists():
            failures.append("a ledger is visible at the target path after a full disk")
        if left:
            failures.append(f"files left on the full disk: {left}")
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2_300_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-full-disk", action="store_true",
                        help="skip the full-disk part (it mounts a tmpfs: needs root)")
    args = parser.parse_args()
    work = workdir("batch_faults")
    scenario = work / "scenario"
    run([MAKEGOOD, "scenario", "generate", "--accounts", str(args.accounts), "--seed",
         str(args.seed), "--out", str(scenario)])
    rows = rows_of(scenario)
    clean = work / "clean" / "ledger.parquet"
    started = time.monotonic()
    run(compensate_args(scenario, clean))
    duration = time.monotonic() - started
    want_ledger, want_summary = digest(clean), digest(summary_of(clean))
    print(f"  {rows:,} rows; an uninterrupted run takes {duration:.1f} s")

    target = work / "killed" / "ledger.parquet"
    summary = summary_of(target)
    rng = random.Random(args.seed)
    failures: list[str] = []
    kills = finished_before_kill = between = 0
    moments = []
    i = 0
    while kills < args.kills and i < 3 * args.kills:  # a run that finishes first is not a kill
        i += 1
        for path in (target, summary):
            path.unlink(missing_ok=True)
        moment = rng.uniform(0.02, 0.9) * duration
        process = subprocess.Popen(compensate_args(scenario, target), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + moment
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        else:
            finished_before_kill += 1
        process.wait()
        moments.append(round(moment, 2))
        # The ledger and its summary are each renamed into place when complete (ledger first):
        # a kill between the two leaves a whole ledger without its summary, never a part file.
        if target.exists() and digest(target) != want_ledger:
            failures.append(f"kill {i}: a ledger at the target differs from the clean run's")
        if summary.exists() and digest(summary) != want_summary:
            failures.append(f"kill {i}: a summary at the target differs from the clean run's")
        if summary.exists() and not target.exists():
            failures.append(f"kill {i}: a summary is at the target without its ledger")
        between += target.exists() and not summary.exists()
    partials_before = sorted(p.name for p in target.parent.glob(".*partial*"))
    run(compensate_args(scenario, target))
    partials_after = sorted(p.name for p in target.parent.glob(".*partial*"))
    if digest(target) != want_ledger or digest(summary) != want_summary:
        failures.append("the rerun after the kills is not byte-identical to the clean run")
    if partials_after:
        failures.append(f"partial files left after the rerun: {partials_after}")
    if not args.no_full_disk:
        failures += full_disk(scenario, work, clean.stat().st_size)
    report("batch_faults", {
        "rows": rows, "uninterrupted_s": round(duration, 1), "kills": kills,
        "runs_that_finished_before_their_kill": finished_before_kill,
        "killed_between_ledger_and_summary": between,
        "kill_moments_s": moments, "partials_left_by_kills": len(partials_before),
        "partials_after_rerun": len(partials_after),
        "rerun_byte_identical": digest(target) == want_ledger,
    }, failures)


if __name__ == "__main__":
    main()
