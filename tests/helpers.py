"""Assertions shared by the tests."""

from __future__ import annotations

from contextlib import contextmanager


def one_line_error(result) -> str:
    """Assert the documented error shape: exactly one line on stderr, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got: {result.stderr!r}"
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def audit_count(db_url: str) -> int:
    """How many audit entries the store holds: a refused command must not add one."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
    finally:
        engine.dispose()


def refused(result, code: int, needle: str) -> str:
    """The documented refusal: this exit code, one stderr line naming the problem, no internal error."""
    assert result.exit_code == code, result
    line = one_line_error(result)
    assert "internal error" not in line
    assert needle in line, line
    return line


@contextmanager
def write_lock_held(db_url: str, backend: str):
    """Another writer holding the store's write lock (SQLite's, or the PostgreSQL advisory lock)
    until the block ends."""
    if backend == "sqlite":
        import sqlite3

        holder = sqlite3.connect(db_url, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        from mailadmin.store.engine import PG_WRITE_LOCK

        holder = psycopg.connect(db_url.replace("+psycopg", ""))
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (PG_WRITE_LOCK,))
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
