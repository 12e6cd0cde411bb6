"""The store: engine and sessions, models, migrations. Imported only by commands that need it."""

from __future__ import annotations

from mailadmin.store.engine import DEFAULT_BUSY_TIMEOUT_MS, Store, resolve_url


def open_store(url: str, *, check_schema: bool = True, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Store:
    """A Store for this URL or path, schema checked (exit 78 when behind). The caller owns it and
    disposes of it (`store.dispose()`); nothing is kept per process."""
    store = Store(resolve_url(url, None), busy_timeout_ms)
    if check_schema:
        from mailadmin.store.schema import require_current

        try:
            require_current(store)
        except BaseException:
            store.dispose()
            raise
    return store
