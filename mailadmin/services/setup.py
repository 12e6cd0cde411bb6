"""Creating, upgrading and describing the store; loading the sample data."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailadmin.errors import InvalidInput
from mailadmin.store import Store
from mailadmin.store import schema


@dataclass
class InitReport:
    url: str
    revision_before: str | None
    revision_after: str
    builtins_created: list[str] = field(default_factory=list)
    sample: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if self.revision_before is None:
            line = f"created the store at {display_url(self.url)} (schema {self.revision_after})"
        elif self.revision_before != self.revision_after:
            line = f"upgraded the store from schema {self.revision_before} to {self.revision_after}"
        else:
            line = f"the store at {display_url(self.url)} is up to date (schema {self.revision_after})"
        if self.builtins_created:
            line += f"; built-in roles: {', '.join(self.builtins_created)}"
        if self.sample:
            line += "; sample: " + ", ".join(f"{n} {what}" for what, n in self.sample.items())
        return line


def init(store: Store, actor: str, *, sample: bool = False) -> InitReport:
    from mailadmin.services import roles

    before, after = schema.upgrade(store)
    report = InitReport(store.url, before, after)
    with store.write() as session:
        report.builtins_created = roles.ensure_builtins(session, actor)
        if sample:
            from mailadmin.services import sample as sample_data

            report.sample = sample_data.load(session, actor)
    return report


def display_url(url: str) -> str:
    """The URL without its password, for messages and `db status`."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url.removeprefix("sqlite:///")


def status(store: Store) -> dict:
    current = schema.current_revision(store)
    return {
        "url": display_url(store.url),
        "backend": store.engine.dialect.name,
        "revision": current,
        "head": schema.HEAD_REVISION,
        "up_to_date": current == schema.HEAD_REVISION,
    }


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
    if os.path.exists(destination):
        raise InvalidInput(f"{destination} exists; choose a new file name")
    fd = os.open(destination, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # a copy of secrets stays private
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
