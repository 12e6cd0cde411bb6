"""Opening the store: URL resolution, SQLite pragmas and IMMEDIATE writes, PostgreSQL, sessions.

Writers are serialised on both backends, so every read-then-write rule (balances, limits, the
audit chain) sees a stable store: SQLite takes its write lock up front (`BEGIN IMMEDIATE`,
waiting up to the busy timeout), PostgreSQL takes one transaction-scoped advisory lock.
Database errors leave this module as domain errors (exit 75 for a busy or unreachable store).
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from mailadmin.config import sqlite_path
from mailadmin.errors import ConfigError, StoreUnavailable

# SQLAlchemy logs a pool reset that fails (a Ctrl-C mid-query, a server gone) through Python's
# last-resort handler, straight onto the user's terminal: the boundary's one line says it instead.
logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())

DEFAULT_BUSY_TIMEOUT_MS = 10_000
# any constant works: it only has to be the same for every mailadmin process
PG_WRITE_LOCK = 0x6D61696C  # "mail"


def create_sqlite_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (in a 0700 directory), before SQLite
    creates it 0644. Only `init` calls this: a mistyped --db creates nothing."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise ConfigError(f"cannot create the store at {path}: {exc.strerror}") from exc


class Store:
    """One engine per invocation, and the two kinds of transaction the services use.

    `busy_timeout_ms` bounds every wait for another writer's lock; past it a write is exit 75."""

    def __init__(self, url: str, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self.engine: Engine = _make_engine(url, busy_timeout_ms)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._joined: Session | None = None  # the one transaction of `one_transaction()`, while it lasts

    def errors(self):
        """Database failures inside this block become domain errors naming this store."""
        return translate_errors(self.busy_timeout_ms, self.url)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: holds the store's write lock from its first statement, commits
        at the end, rolls everything back on any error (nothing half-written). Inside
        `one_transaction()` it is a savepoint of that transaction instead."""
        if self._joined is not None:
            with self._joining() as session:
                yield session
            return
        with self.errors(), self.engine.connect() as conn:
            conn.info["write"] = True
            with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
                with session.begin():
                    if not self.is_sqlite:
                        # lock_timeout (set on every connection) bounds this wait like SQLite's busy timeout
                        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})
                    yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction: one consistent snapshot, no write lock. Inside `one_transaction()`
        it reads that transaction (what its earlier steps wrote included)."""
        if self._joined is not None:
            with self._joining() as session:
                yield session
            return
        with self.errors(), self.engine.connect() as conn:
            with Session(bind=conn, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    @contextmanager
    def one_transaction(self) -> Iterator[Session]:
        """One write transaction that every `write()` and `read()` of this Store joins until the
        block ends (batch --atomic): each of them becomes a savepoint of it, so a step's own
        commit commits nothing, and the block commits all or, on any error, nothing. Held by this
        Store object only (one per invocation or batch), never process-wide."""
        if self._joined is not None:
            raise RuntimeError("one_transaction() does not nest")
        with self.write() as session:
            self._joined = session
            try:
                yield session
            finally:
                self._joined = None

    @contextmanager
    def _joining(self) -> Iterator[Session]:
        """A savepoint of the joined transaction: a step that fails is undone alone (the caller
        decides whether the whole rolls back). After each step the session forgets the objects it
        loaded (flushed first), so the next step reads the rows, not a previous step's objects."""
        session = self._joined
        with self.errors():
            try:
                with session.begin_nested():
                    yield session
            finally:
                session.expunge_all()

    def dispose(self) -> None:
        self.engine.dispose()


def busy_timeout_ms(env: Mapping[str, str]) -> int:
    """MAILADMIN_BUSY_TIMEOUT_MS, checked: a bad value fails every command, not only writes."""
    raw = env.get("MAILADMIN_BUSY_TIMEOUT_MS")
    if raw is None:
        return DEFAULT_BUSY_TIMEOUT_MS
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ConfigError(f"MAILADMIN_BUSY_TIMEOUT_MS must be a number of milliseconds, not {raw!r}")
    return int(raw)


def _make_engine(url: str, timeout: int) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": timeout / 1000})

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
            # writer got in first; IMMEDIATE waits for the lock instead.
            if conn.info.get("write"):
                _begin_immediate(conn, timeout)
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    # Every statement of every connection, reads included, is bounded: a read must not wait forever
    # behind a table lock (libpq options; ENGINEERING.md), and past the bound the command is exit 75.
    # A lock wait gives up after the busy timeout; a statement as a whole (its waits and its work)
    # after twice that, so a lock wait is reported as the lock it is.
    bound = f"-c lock_timeout={timeout} -c statement_timeout={2 * timeout}"
    return create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 5, "options": bound})


def _begin_immediate(conn, timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting for another writer up to the busy timeout in short steps: SQLite's
    own busy wait sleeps in C, where Ctrl-C is not seen until the whole timeout has passed."""
    deadline = time.monotonic() + timeout_ms / 1000
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {min(timeout_ms, 50)}")
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {timeout_ms}")


@contextmanager
def translate_errors(timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, url: str | None = None) -> Iterator[None]:
    """Database failures as domain errors, so the CLI boundary never imports SQLAlchemy."""
    try:
        yield
    except OperationalError as exc:
        raise _classify(exc, timeout_ms, url) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable("lost the connection to the store; try again") from exc
        if "file is not a database" in str(exc.orig).lower():
            raise _not_a_database(url) from exc
        raise


def _not_a_database(url: str | None) -> ConfigError:
    where = sqlite_path(url) if url else None
    return ConfigError(f"{where or 'the store'} is not a mailadmin store (not a SQLite database)",
                       hint="check --db, MAILADMIN_DB or the config's `database`")


def _classify(exc: OperationalError, timeout_ms: int, url: str | None) -> Exception:
    message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    lowered = message.lower()
    if "statement timeout" in lowered:
        return StoreUnavailable(f"the store did not answer within the busy timeout ({timeout_ms / 1000:g} s); try again")
    if "locked" in lowered or "busy" in lowered or "lock timeout" in lowered:
        return StoreUnavailable(
            f"the store is locked by another writer (waited {timeout_ms / 1000:g} s); try again"
        )
    if "file is not a database" in lowered:
        return _not_a_database(url)
    if ("database" in lowered or "role" in lowered) and "does not exist" in lowered:
        # a server that answered "no": permanent, not a retry (75) for cron
        return ConfigError(f"the store server refused: {message}", hint="check the database name and user in the store URL")
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return ConfigError(f"the store server refused: {message}", hint="check the credentials in the store URL")
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return ConfigError("the store is not initialised", hint="run `mailadmin init`")
    if "unable to open database" in lowered or "readonly" in lowered or "read-only" in lowered:
        return ConfigError(f"cannot open the store: {message}")
    if "connection" in lowered or "could not" in lowered or "timeout" in lowered or "server" in lowered:
        return StoreUnavailable(f"the store server is unreachable: {message}")
    return StoreUnavailable(f"store error: {message}")
