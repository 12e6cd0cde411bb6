"""Creating, upgrading and describing the store; loading the sample data."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailadmin.errors import InvalidInput
from mailadmin.operation import Actor, Operation
from mailadmin.store import Store
from mailadmin.store import schema
from mailadmin.timeutil import Clock


@dataclass
class InitReport:
    url: str
    revision_before: str | None
    revision_after: str
    builtins_created: list[str] = field(default_factory=list)
    sample: dict[str, int] = field(default_factory=dict)


def init(store: Store, actor: Actor, clock: Clock, *, sample: bool = False) -> InitReport:
    """Migrate the store to the newest schema, then create the built-in roles and operator roles (and the demo)."""
    from mailadmin.services import operators, roles

    before, after = schema.upgrade(store)
    report = InitReport(display_url(store.url), before, after)
    with store.write() as session:
        op = Operation(session, actor, clock())
        report.builtins_created = roles.ensure_builtins(op) + operators.ensure_builtins(op)
        if sample:
            from mailadmin.services import sample as sample_data

            report.sample = sample_data.load(op)
    return report


def display_url(url: str) -> str:
    """The URL without its password, for messages and `db status`."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url.removeprefix("sqlite:///")


@dataclass(frozen=True)
class StoreStatus:
    url: str  # without its password
    backend: str
    revision: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


def status(store: Store) -> StoreStatus:
    return StoreStatus(display_url(store.url), store.engine.dialect.name, schema.current_revision(store), schema.HEAD_REVISION)


def backup(store: Store, destination: str) -> int:
    """Copy a SQLite store with SQLite's online backup (consistent while others write).
    Returns the bytes written."""
    import os
    import sqlite3

    if not store.is_sqlite:
        raise InvalidInput("backup copies SQLite stores; for PostgreSQL use pg_dump", hint="pg_dump -Fc DBNAME > FILE")
    source_path = store.url.removeprefix("sqlite:///")
    if os.path.abspath(destination) == os.path.abspath(source_path):
        raise InvalidInput("the backup file must not be the store itself")
    try:
        fd = os.open(destination, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # a copy of secrets stays private
    except FileExistsError:
        raise InvalidInput(f"{destination} exists; choose a new file name") from None
    except OSError as exc:
        raise InvalidInput(f"cannot write the backup to {destination}: {exc.strerror}") from None
    os.close(fd)
    try:
        with sqlite3.connect(source_path) as src, sqlite3.connect(destination) as dst:
            src.backup(dst)
        dst_conn = sqlite3.connect(destination)
        dst_conn.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        dst_conn.close()
    except sqlite3.Error as exc:
        os.unlink(destination)
        raise InvalidInput(f"backup failed: {exc}") from exc
    return os.path.getsize(destination)
