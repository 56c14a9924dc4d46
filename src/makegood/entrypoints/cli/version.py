"""`makegood --version`: makegood's version and the engines and drivers found beside it.

Versions come from the installed packages' metadata, so nothing heavy is imported (DuckDB,
PySpark and the PostgreSQL drivers stay unloaded); Java is asked with ``java -version`` the way
PySpark finds it (``$JAVA_HOME/bin/java``, else ``java`` on the PATH), with a short timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib import metadata

JAVA_TIMEOUT_S = 5.0
NOT_FOUND = "not found"

# (label, distribution name, what it is for)
PACKAGES = (
    ("DuckDB", "duckdb", "default batch engine"),
    ("PySpark", "pyspark", "--engine spark"),
    ("psycopg", "psycopg", "PostgreSQL driver"),
    ("asyncpg", "asyncpg", "PostgreSQL driver, claim intake"),
)


def package_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return NOT_FOUND


def java_executable() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = os.path.join(home, "bin", "java")
        return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def java_version(timeout: float = JAVA_TIMEOUT_S) -> str:
    """``17.0.15 (openjdk at /usr/bin/java)`` from ``java -version``, or why there is none."""
    java = java_executable()
    if java is None:
        where = "$JAVA_HOME/bin/java" if os.environ.get("JAVA_HOME") else "java on the PATH"
        return f"{NOT_FOUND} ({where})"
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return f"{java} did not answer `-version` within {timeout:g} s"
    except OSError as exc:
        return f"{java} could not be run: {exc.strerror}"
    text = (done.stderr or done.stdout).strip()
    match = re.search(r'version "([^"]+)"', text)
    if done.returncode != 0 or match is None:
        return f"{java} -version failed: {text.splitlines()[0] if text else done.returncode}"
    vendor = text.splitlines()[0].split(" version")[0]
    return f"{match.group(1)} ({vendor} at {java})"


def report() -> list[str]:
    lines = [f"makegood {package_version('makegood')}"]
    for label, distribution, role in PACKAGES:
        lines.append(f"  {label} {package_version(distribution)} ({role})")
    lines.append(f"  Java {java_version()}, for PySpark")
    return lines
