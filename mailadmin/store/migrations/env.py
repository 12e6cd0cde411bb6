"""Alembic environment: runs on the connection `mailadmin.store.schema` hands it."""

from alembic import context

from mailadmin.store import records  # noqa: F401 - its tables join the metadata
from mailadmin.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare `alembic` command line
    raise SystemExit("run migrations through `mailadmin db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
