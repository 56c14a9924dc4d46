"""Backup, restore and an integrity check of the claims database and its evidence files.

A backup is a directory: the database (SQLite's online backup API, which copies a consistent
snapshot while the server keeps writing; or ``pg_dump -Fc`` of the claims schema), the evidence
files, and ``manifest.json`` with what :func:`check` found at backup time. A restore copies the
database into an empty target and the evidence files into the evidence directory; :func:`check`
on the restored copy must give the same manifest.

The check: row counts of every table; the audit log as a chain (a SHA-256 over every entry in
order, each entry's hash folded into the next), so a lost, changed or reordered entry changes the
digest; every claim has its submission entry; every evidence file exists and hashes to the
SHA-256 the database holds for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db import schema as t
from makegood.adapters.ledger import atomic_path
from makegood.domain.errors import Conflict, InputError

MANIFEST = "manifest.json"


def check(engine: Engine, evidence_dir: Path) -> dict[str, Any]:
    """What the database and the evidence directory hold, and what is wrong with them."""
    problems: list[str] = []
    with engine.connect() as conn:
        counts = {table.name: int(conn.execute(sa.select(sa.func.count())
                                               .select_from(table)).scalar_one())
                  for table in t.metadata.sorted_tables}
        chain = hashlib.sha256()
        for row in conn.execute(sa.select(t.audit_log).order_by(t.audit_log.c.id)).mappings():
            entry = json.dumps({k: row[k] for k in sorted(row.keys())}, default=str,
                               sort_keys=True, ensure_ascii=False)
            chain = hashlib.sha256(chain.digest() + entry.encode())
        unaudited = conn.execute(sa.text(
            "SELECT count(*) FROM claims WHERE id NOT IN (SELECT entity_id FROM audit_log "
            "WHERE entity = 'claim' AND action = 'claim.submit')")).scalar_one()
        evidence = [(r[0], r[1]) for r in conn.execute(
            sa.select(t.evidence.c.id, t.evidence.c.sha256).order_by(t.evidence.c.id))]
    if unaudited:
        problems.append(f"{unaudited} claims without their submission audit entry")
    files_checked = 0
    for evidence_id, digest in evidence:
        path = evidence_dir / digest[:2] / digest
        if not path.exists():
            problems.append(f"evidence {evidence_id}: file {digest} is missing")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"evidence {evidence_id}: file {digest} does not match its hash")
        files_checked += 1
    return {"tables": counts, "audit_chain": chain.hexdigest(),
            "evidence_files": files_checked, "problems": problems}


def backup(engine: Engine, url: str, evidence_dir: Path, out: Path) -> dict[str, Any]:
    """Write a backup directory at ``out`` (which must not exist); its manifest."""
    if out.exists():
        raise Conflict(f"{out} exists; a backup goes to a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        manifest = check(engine, evidence_dir)
        if engine.dialect.name == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(tmp / "claims.sqlite")
            with target:
                source.backup(target)
            source.close()
            target.close()
        else:
            schema = _current_schema(engine)
            _run(["pg_dump", "--format=custom", f"--schema={schema}", "--no-owner",
                  f"--file={tmp / 'claims.dump'}", f"--dbname={_libpq(url)}"])
            manifest["schema"] = schema
        if evidence_dir.exists():
            shutil.copytree(evidence_dir, tmp / "evidence")
        manifest["backend"] = engine.dialect.name
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def restore(source: Path, url: str, evidence_dir: Path) -> dict[str, Any]:
    """Restore the backup at ``source`` into the empty database at ``url``; the manifest."""
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise InputError(f"{source} is not a makegood backup (no {MANIFEST})", field="backup")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    backend = sa.make_url(url).get_backend_name()
    if backend != manifest["backend"]:
        raise InputError(f"the backup is of a {manifest['backend']} database; the target is "
                         f"{backend}", field="MAKEGOOD_DATABASE_URL")
    if backend == "sqlite":
        target = Path(_sqlite_path(url))
        if target.exists() and target.stat().st_size > 0:
            raise Conflict(f"{target} exists; restore into a new file")
        with atomic_path(target) as tmp:
            shutil.copyfile(source / "claims.sqlite", tmp)
    else:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            found = conn.execute(sa.text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": manifest["schema"]}).scalar_one()
        engine.dispose()
        if found:
            raise Conflict(f"schema {manifest['schema']!r} already has tables; restore into an "
                           "empty database")
        _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(url)}",
              str(source / "claims.dump")])
    if (source / "evidence").exists():
        shutil.copytree(source / "evidence", evidence_dir, dirs_exist_ok=True)
    return manifest


def _sqlite_path(url: str) -> str:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise InputError("a backup needs a SQLite file, not an in-memory database",
                         field="MAKEGOOD_DATABASE_URL")
    return database


def _current_schema(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())


def _libpq(url: str) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(args: list[str]) -> None:
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=3600)
    except FileNotFoundError:
        raise InputError(f"{args[0]} is not installed (PostgreSQL's client programs)",
                         field=args[0]) from None
    if result.returncode != 0:
        raise InputError(f"{args[0]} failed: {result.stderr.strip().splitlines()[-1:]}",
                         field=args[0])
