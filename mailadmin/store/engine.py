"""Opening the store: URL resolution, SQLite pragmas and IMMEDIATE writes, PostgreSQL, sessions.

Writers are serialised on both backends, so every read-then-write rule (balances, limits, the
audit chain) sees a stable store: SQLite takes its write lock up front (`BEGIN IMMEDIATE`,
waiting up to the busy timeout), PostgreSQL takes one transaction-scoped advisory lock.
Database errors leave this module as domain errors (exit 75 for a busy or unreachable store).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from mailadmin import config
from mailadmin.errors import ConfigError, InvalidInput, StoreUnavailable

DEFAULT_BUSY_TIMEOUT_MS = 10_000
# any constant works: it only has to be the same for every mailadmin process
PG_WRITE_LOCK = 0x6D61696C  # "mail"


def resolve_url(db: str | None) -> str:
    """--db, then MAILADMIN_DB (Typer passes it as `db`), then the config file, then the default file."""
    value = db or config.get("database")
    if not value:
        path = config.default_database_path()
        _create_private_file(path)
        return f"sqlite:///{path}"
    if "://" in value:
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise InvalidInput(f"unsupported store URL {value.split('://')[0]}://", hint="use a file path or postgresql+psycopg://")
        return value
    path = Path(value).expanduser().resolve()
    _create_private_file(path)
    return f"sqlite:///{path}"


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only, before SQLite creates it 0644."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise ConfigError(f"cannot create the store at {path}: {exc.strerror}") from exc


class Store:
    """One engine per process, and the two kinds of transaction the services use."""

    def __init__(self, url: str) -> None:
        self.url = url
        busy_timeout_ms()  # a bad setting fails every command, not only the writes that read it
        self.engine: Engine = _make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: holds the store's write lock from its first statement, commits
        at the end, rolls everything back on any error (nothing half-written)."""
        with translate_errors(), self.engine.connect() as conn:
            conn.info["write"] = True
            with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
                with session.begin():
                    if not self.is_sqlite:
                        # the same wait-then-give-up contract as SQLite's busy timeout
                        session.execute(text(f"SET LOCAL lock_timeout = {busy_timeout_ms()}"))
                        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})
                    yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction: one consistent snapshot, no write lock."""
        with translate_errors(), self.engine.connect() as conn:
            with Session(bind=conn, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    def dispose(self) -> None:
        self.engine.dispose()


def busy_timeout_ms() -> int:
    raw = os.environ.get("MAILADMIN_BUSY_TIMEOUT_MS")
    if raw is None:
        return DEFAULT_BUSY_TIMEOUT_MS
    if not raw.isdigit():
        raise ConfigError(f"MAILADMIN_BUSY_TIMEOUT_MS must be a number of milliseconds, not {raw!r}")
    return int(raw)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms() / 1000})
        timeout = busy_timeout_ms()

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Let SQLAlchemy's `begin` event emit BEGIN itself (SQLAlchemy docs, dialects/sqlite,
            # "Enabling Non-Legacy SQLite Transactional Modes").
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {timeout}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # A deferred transaction that reads then writes gets SQLITE_BUSY at once when another
            # writer got in first; IMMEDIATE waits for the lock (busy_timeout) instead.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 5})


@contextmanager
def translate_errors() -> Iterator[None]:
    """Database failures as domain errors, so the CLI boundary never imports SQLAlchemy."""
    try:
        yield
    except OperationalError as exc:
        raise _classify(exc) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable("lost the connection to the store; try again") from exc
        raise


def _classify(exc: OperationalError) -> Exception:
    message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered or "lock timeout" in lowered:
        return StoreUnavailable(
            f"the store is locked by another writer (waited {busy_timeout_ms() / 1000:g} s); try again"
        )
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return ConfigError("the store is not initialised", hint="run `mailadmin init`")
    if "unable to open database" in lowered or "readonly" in lowered or "read-only" in lowered:
        return ConfigError(f"cannot open the store: {message}")
    if "connection" in lowered or "could not" in lowered or "timeout" in lowered or "server" in lowered:
        return StoreUnavailable(f"the store server is unreachable: {message}")
    return StoreUnavailable(f"store error: {message}")
