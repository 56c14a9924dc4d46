"""The dependency lock: regenerate it, check that it matches pyproject.toml, show what changed.

``requirements.lock`` pins every package that ``make setup`` installs (makegood's dependencies
with all its extras, today ``dev`` and ``spark``, plus pip and setuptools for the build) for
Python 3.11 on Linux, each with the hashes of its files, so a fresh machine gets the versions CI
tested.
``pyproject.toml`` keeps its ranges for people who install makegood as a library.

The lock's header records a digest of pyproject.toml's dependency lists (``dependencies``,
``optional-dependencies``, ``build-system.requires`` and ``requires-python``): ``make setup``
runs ``check`` and refuses to install when someone changed those lists without running
``make lock``, instead of installing a tree that lacks the new package.

    python tools/lock.py compile --uv PATH   # make lock: keeps locked versions where still allowed
    python tools/lock.py compile --uv PATH --upgrade   # make lock-upgrade: newest versions allowed
    python tools/lock.py check               # make setup, before installing

Standard library only: it runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-unknown-linux-gnu"
# every extra in pyproject.toml (today dev and spark): `make setup` installs them all
EXTRAS = "all"
# Installed from the lock too, so the set-up itself is pinned: the installer, and the build
# backend that `pip install --no-build-isolation -e .` uses.
BOOTSTRAP = ("pip",)
DIGEST_LINE = "# pyproject-digest: "


def pyproject_digest(path: Path = PYPROJECT) -> str:
    """A digest of the parts of pyproject.toml that decide what gets installed."""
    import tomllib

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    project = data.get("project", {})
    relevant = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-system.requires": data.get("build-system", {}).get("requires", []),
        "lock": {"python": PYTHON_VERSION, "platform": PLATFORM, "extras": EXTRAS,
                 "bootstrap": BOOTSTRAP},
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def recorded_digest(path: Path = LOCK) -> str | None:
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_LINE):
            return line[len(DIGEST_LINE):].strip()
        if not line.startswith("#"):
            break
    return None


def pins(text: str) -> dict[str, str]:
    """``{package: version}`` from a lock's text."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text, flags=re.MULTILINE)
    return {name.lower(): version for name, version in found}


def changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            lines.append(f"  + {name} {after} (new)")
        elif after is None:
            lines.append(f"  - {name} {before} (removed)")
        else:
            major = before.split(".")[0] != after.split(".")[0]
            lines.append(f"  ~ {name} {before} -> {after}" + ("  (major version: read its changelog)"
                                                                if major else ""))
    return lines


def compile_lock(uv: str, *, upgrade: bool = False) -> int:
    """Resolve pyproject.toml's ranges into the lock; print what changed and how to review it.

    uv keeps the versions already in the lock where pyproject.toml still allows them, so adding
    one dependency changes only what it needs; ``upgrade`` takes the newest versions allowed.
    """
    import tomllib

    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    bootstrap = [*data.get("build-system", {}).get("requires", []), *BOOTSTRAP]
    extras = sorted(data.get("project", {}).get("optional-dependencies", {}))
    old_text = LOCK.read_text(encoding="utf-8") if LOCK.is_file() else ""
    tmp = LOCK.with_name(LOCK.name + ".tmp")
    tmp.write_text(old_text, encoding="utf-8")  # uv prefers the versions pinned in its output file
    command = [uv, "pip", "compile", str(PYPROJECT.relative_to(ROOT)), "-",
               "--all-extras",
               "--generate-hashes", "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
               "--custom-compile-command", "make lock", "--quiet", "--output-file", str(tmp),
               *(["--upgrade"] if upgrade else [])]
    started = time.perf_counter()
    done = subprocess.run(command, input="\n".join(bootstrap) + "\n", text=True, cwd=ROOT,
                          check=False)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        print("make lock: uv could not resolve pyproject.toml's dependencies (its message is above); "
              "requirements.lock is unchanged", file=sys.stderr)
        return done.returncode
    header = (
        f"# makegood's locked dependency tree: Python {PYTHON_VERSION} on Linux ({PLATFORM}),\n"
        f"# makegood with all its extras ({', '.join(extras)}), plus {', '.join(bootstrap)} for the set-up.\n"
        "# Generated by `make lock` from pyproject.toml's ranges; do not edit by hand.\n"
        "# `make setup` installs it with `pip install --require-hashes` and refuses to run when\n"
        "# pyproject.toml's dependency lists no longer match the digest below.\n"
        f"{DIGEST_LINE}{pyproject_digest()}\n"
    )
    new_text = header + tmp.read_text(encoding="utf-8")
    tmp.unlink()
    LOCK.write_text(new_text, encoding="utf-8")
    seconds = time.perf_counter() - started
    diff = changes(pins(old_text), pins(new_text))
    print(f"requirements.lock: {len(pins(new_text))} packages pinned in {seconds:.1f} s; "
          + (f"{len(diff)} changed:" if diff else "no version changed."))
    if diff:
        print("\n".join(diff))
    print("Review before committing:\n"
          "  git diff --stat requirements.lock   # how much moved\n"
          "  git diff requirements.lock          # each pin, with why it is there (# via ...)\n"
          "Look for packages nobody added (a new transitive dependency), major version jumps\n"
          "(read their changelogs), and removals. Then `make setup && make test` and commit\n"
          "pyproject.toml and requirements.lock together.")
    return 0


def check() -> int:
    """Exit 1 with a clear message when pyproject.toml's dependencies changed after the lock."""
    recorded = recorded_digest()
    if recorded is None:
        print(f"{LOCK.name} is missing or has no '{DIGEST_LINE.strip('# :')}' line: run `make lock`",
              file=sys.stderr)
        return 1
    if recorded != pyproject_digest():
        print("pyproject.toml's dependencies changed since requirements.lock was generated: run "
              "`make lock`, review the change it prints, and commit both files (make setup installs "
              "only from the lock)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    compile_ = sub.add_parser("compile", help="regenerate requirements.lock with uv")
    compile_.add_argument("--uv", required=True, help="path of the uv executable")
    compile_.add_argument("--upgrade", action="store_true",
                          help="take the newest versions allowed, not the locked ones")
    sub.add_parser("check", help="fail when pyproject.toml changed after the lock")
    args = parser.parse_args(argv)
    if args.command == "compile":
        return compile_lock(args.uv, upgrade=args.upgrade)
    return check()


if __name__ == "__main__":
    sys.exit(main())
