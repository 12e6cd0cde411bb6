"""The store: migrations match the models, the revision check, and per-connection settings."""

from __future__ import annotations

import pytest
from sqlalchemy import text


def test_head_revision_constant_matches_alembic():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mailadmin.store.schema import HEAD_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", "mailadmin.store:migrations")
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]


def test_migrations_produce_the_models_schema(store):
    """Autogenerate finds nothing to do: the migrations and models.py (with records.py) agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mailadmin.store import records  # noqa: F401 - its tables join the metadata
    from mailadmin.store.models import metadata

    assert {"audit_entry", "credit_entry", "account_limit"} <= set(metadata.tables)

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # the one-owner partial index lives in the migration only (see models.User)
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name == "uq_user_account_owner")]
    assert diff == []


def test_an_account_has_one_owner(store):
    from sqlalchemy.exc import IntegrityError

    from tests.factories import make_owner, make_package
    from mailadmin.store.models import User

    with store.write() as session:
        owner = make_owner(session, "one@example.com", make_package(session, "p1"))
        account_id = owner.account_id
    with pytest.raises(IntegrityError):
        with store.write() as session:
            session.add(User(email="two@example.com", account_id=account_id, is_owner=True))
            session.flush()


def test_sqlite_connections_have_wal_foreign_keys_and_a_busy_timeout(store, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with store.read() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


def test_write_transactions_roll_back_whole(store, op):
    from mailadmin.services import roles

    with pytest.raises(RuntimeError):
        with op.write() as o:
            roles.create(o, "doomed", grant=["chat"])
            raise RuntimeError("crash after the write")
    with store.read() as session:
        assert "doomed" not in roles.names(session)
