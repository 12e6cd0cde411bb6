"""Dynamic shell completion from the store, without SQLAlchemy: every Tab press starts the
program, so this reads with the standard library's sqlite3 (or psycopg for a server)."""

from __future__ import annotations

import os


def _names(sql: str, incomplete: str) -> list[str]:
    try:
        from mailadmin.cli.context import state
        from mailadmin import config

        value = state.db or os.environ.get("MAILADMIN_DB") or config.get("database") or str(config.default_database_path())
        like = incomplete.replace("%", "") + "%"
        if "://" not in value or value.startswith("sqlite:///"):
            import sqlite3

            path = value.removeprefix("sqlite:///")
            if not os.path.exists(path):
                return []
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
                return [row[0] for row in conn.execute(sql.replace("%s", "?"), (like,))]
        import psycopg

        url = value.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=2) as conn:
            return [row[0] for row in conn.execute(sql, (like,))]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def complete_roles(incomplete: str) -> list[str]:
    return _names("SELECT name FROM role WHERE name LIKE %s ORDER BY name", incomplete)


def complete_packages(incomplete: str) -> list[str]:
    return _names("SELECT name FROM package WHERE name LIKE %s ORDER BY name", incomplete)


def complete_users(incomplete: str) -> list[str]:
    return _names('SELECT email FROM "user" WHERE email LIKE %s ORDER BY email LIMIT 200', incomplete.lower())
