"""The claims database: SQLAlchemy tables, repositories, a unit of work and Alembic migrations.

SQLite (a file in the working directory) by default, PostgreSQL by URL
(``MAKEGOOD_DATABASE_URL=postgresql+psycopg://...``). Evidence files live outside the database,
stored by content hash (:mod:`makegood.adapters.db.evidence`); payout accounts are encrypted
(:mod:`makegood.adapters.db.crypto`).
"""
