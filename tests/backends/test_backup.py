"""Backup and restore round trip, on SQLite and PostgreSQL: `makegood db backup` while the API
runs, `makegood db restore` into an empty database, and the restored copy passes the integrity
check (row counts, the audit chain, the evidence files' hashes)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import PG_URL, Api

MAKEGOOD = str(Path(sys.executable).parent / "makegood")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def cli(*args: str, url: str, evidence: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": url, "MAKEGOOD_EVIDENCE_DIR": str(evidence)}
    return subprocess.run([MAKEGOOD, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture
def empty_target(api: Api, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of the same backend as ``api``'s."""
    if api.engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    source_schema = sa.make_url(str(api.engine.url)).query.get("options", "")
    url = sa.make_url(PG_URL).set(database=name).update_query_dict({"options": source_schema})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(api: Api) -> None:
    for i in range(4):
        receipt = api.submit(headers={"Idempotency-Key": f"backup-{i}"}).json()
        r = api.client.post(f"/claims/{receipt['claim_id']}/evidence",
                            headers={"X-Receipt-Token": receipt["receipt_token"]},
                            files={"file": (f"{i}.pdf", PDF + str(i).encode(), "application/pdf")})
        assert r.status_code == 201, r.text


def test_backup_and_restore_round_trip_passes_the_integrity_check(
        api: Api, db_url: str, empty_target: str, tmp_path: Path) -> None:
    fill(api)
    evidence = tmp_path / "evidence"
    made = cli("db", "backup", str(tmp_path / "backup"), url=db_url, evidence=evidence)
    assert made.returncode == 0, made.stderr
    assert "claims: 4 rows" in made.stdout
    assert "evidence files checked: 4" in made.stdout
    restored_evidence = tmp_path / "restored-evidence"
    done = cli("db", "restore", str(tmp_path / "backup"), url=empty_target,
               evidence=restored_evidence)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "row counts, audit chain and evidence hashes match" in done.stdout
    chain = [line for line in made.stdout.splitlines() if "audit chain" in line]
    assert chain[0] in done.stdout
    again = cli("db", "restore", str(tmp_path / "backup"), url=empty_target,
                evidence=restored_evidence)
    assert again.returncode == 4  # never over a database that has data


def test_the_check_finds_a_changed_evidence_file(api: Api, db_url: str, tmp_path: Path) -> None:
    fill(api)
    evidence = tmp_path / "evidence"
    victim = next(p for p in evidence.rglob("*") if p.is_file())
    victim.write_bytes(b"%PDF-1.4 tampered")
    found = cli("db", "check", url=db_url, evidence=evidence)
    assert found.returncode == 4
    assert "does not match its hash" in found.stdout
