"""The store: engine and sessions, models, migrations. Imported only by commands that need it."""

from __future__ import annotations

from mailadmin.store.engine import Store, resolve_url

_open: dict[str, Store] = {}


def open_store(db: str | None, *, check_schema: bool = True) -> Store:
    """The process's Store for this --db value, schema checked (exit 78 when behind)."""
    url = resolve_url(db)
    store = _open.get(url)
    if store is None:
        store = _open[url] = Store(url)
        if check_schema:
            from mailadmin.store.schema import require_current

            require_current(store)
    return store


def close_all() -> None:
    for store in _open.values():
        store.dispose()
    _open.clear()
