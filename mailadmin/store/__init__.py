"""The store: engine and sessions, models, migrations. Imported only by commands that need it."""

from __future__ import annotations

from mailadmin.store.engine import DEFAULT_BUSY_TIMEOUT_MS, Store


def open_store(db: str | None, *, configured: str | None = None, create: bool = False, check_schema: bool = True,
               busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Store:
    """The Store that `db` (a path or URL; else `configured`, else the default file) names, schema
    checked unless asked not to (exit 78 when behind). Only `init` passes `create`: on a missing
    SQLite file anything else is exit 78, so a mistyped --db leaves nothing behind. The caller owns
    the Store and disposes of it (`store.dispose()`); nothing is kept per process."""
    from mailadmin.config import sqlite_path, store_url
    from mailadmin.errors import ConfigError
    from mailadmin.store.engine import create_sqlite_file

    url = store_url(db, configured)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        if not create:
            raise ConfigError(f"no store at {path}", hint=f"run `mailadmin init --db {path}`")
        create_sqlite_file(path)
    store = Store(url, busy_timeout_ms)
    if check_schema:
        from mailadmin.store.schema import require_current

        try:
            require_current(store)
        except BaseException:
            store.dispose()
            raise
    return store
