"""Schema revision: a cheap check for every command, Alembic only for init and db upgrade."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mailadmin.errors import ConfigError
from mailadmin.store.engine import Store

# The newest migration in migrations/versions; a test keeps it equal to Alembic's head.
# Revisions are numbered 0001, 0002, ...: a stored number above this one comes from a newer mailadmin.
HEAD_REVISION = "0004"


def current_revision(store: Store) -> str | None:
    """The stored revision, or None for an empty store. Never imports Alembic."""
    with store.errors(), store.engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError as exc:
            if _is_missing_table(exc):
                return None
            raise


def is_newer(revision: str) -> bool:
    """A revision this mailadmin does not know: written by a newer one (or by something else)."""
    return not (revision.isascii() and revision.isdigit()) or int(revision) > int(HEAD_REVISION)


def refuse_newer(revision: str | None) -> None:
    if revision is not None and is_newer(revision):
        raise ConfigError(
            f"this store was upgraded by a newer mailadmin (schema {revision}; this one knows up to {HEAD_REVISION})",
            hint="upgrade mailadmin itself; nothing was changed",
        )


def require_current(store: Store) -> None:
    revision = current_revision(store)
    if revision is None:
        raise ConfigError("the store is not initialised", hint="run `mailadmin init`")
    refuse_newer(revision)
    if revision != HEAD_REVISION:
        raise ConfigError(
            f"the store's schema is at revision {revision}, this mailadmin needs {HEAD_REVISION}",
            hint="run `mailadmin db upgrade`",
        )


def upgrade(store: Store) -> tuple[str | None, str]:
    """Run every pending migration in one transaction. Returns (revision before, after)."""
    from alembic import command
    from alembic.config import Config

    before = current_revision(store)
    refuse_newer(before)  # Alembic would fail on a revision it cannot find; say why instead
    cfg = Config()
    cfg.set_main_option("script_location", "mailadmin.store:migrations")
    with store.errors(), store.engine.connect() as conn:
        if store.is_sqlite:
            # a batch migration copies tables; with foreign keys on, the copy's DROP would cascade
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
            conn.commit()  # the pragma is ignored inside a transaction: end the autobegun one
        conn.info["write"] = True
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        if store.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            conn.commit()
    return before, current_revision(store) or ""


def _is_missing_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or "does not exist" in message
