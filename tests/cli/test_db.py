"""`mailadmin init` and `mailadmin db`: creating, checking, upgrading and backing up the store."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from tests.helpers import one_line_error


@pytest.fixture
def empty_cli(cli, empty_db_url):
    """The cli fixture pointed at a store location with nothing in it."""

    def invoke(*args, **kw):
        return cli("--db", empty_db_url, *args, **kw)

    return invoke


def test_commands_refuse_an_uninitialised_store_with_78(empty_cli):
    r = empty_cli("roles", "list")
    assert r.exit_code == 78
    assert "run `mailadmin init" in one_line_error(r)


def test_init_creates_builtins_and_is_idempotent(empty_cli):
    first = empty_cli("init")
    assert first.exit_code == 0, first
    assert "created the store" in first.stderr and "owner" in first.stderr
    second = empty_cli("init")
    assert second.exit_code == 0
    assert "up to date" in second.stderr and "built-in roles" not in second.stderr
    names = empty_cli("roles", "list", "-o", "ids").stdout.split()
    assert len(names) == len(set(names)) == 6


def test_init_sample_is_idempotent(empty_cli):
    assert empty_cli("init", "--sample").exit_code == 0
    before = empty_cli("roles", "list", "-o", "ids").stdout
    assert "support" in before.split()
    assert empty_cli("init", "--sample").exit_code == 0
    assert empty_cli("roles", "list", "-o", "ids").stdout == before


def test_sqlite_file_is_private_and_uses_wal(cli, tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("file permissions and WAL concern the SQLite store")
    path = tmp_path / "sub" / "new.db"
    assert cli("--db", str(path), "init").exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_store_lives_in_the_xdg_data_dir(cli, tmp_path, monkeypatch, backend):
    if backend != "sqlite":
        pytest.skip("the default store is a SQLite file")
    monkeypatch.delenv("MAILADMIN_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert cli("init").exit_code == 0
    assert (tmp_path / "data" / "mailadmin" / "mailadmin.db").exists()
    status = cli("db", "status", "-o", "json").json()
    assert status["url"] == str(tmp_path / "data" / "mailadmin" / "mailadmin.db")


def test_status_reports_the_revision(cli, backend):
    data = cli("db", "status", "-o", "json").json()
    assert data["backend"] == backend
    assert data["up_to_date"] is True and data["revision"] == data["head"]


def test_a_store_behind_the_code_refuses_with_78(cli, db_url, backend):
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    r = cli("roles", "list")
    assert r.exit_code == 78
    assert "run `mailadmin db upgrade`" in one_line_error(r)
    status = cli("db", "status", "-o", "json")
    assert status.exit_code == 78 and status.json()["up_to_date"] is False


def test_upgrade_on_a_current_store_says_so(cli):
    r = cli("db", "upgrade")
    assert r.exit_code == 0 and "already up to date" in r.stderr


def test_backup_makes_a_private_consistent_copy(cli, tmp_path, backend):
    target = tmp_path / "backup.db"
    r = cli("db", "backup", str(target))
    if backend != "sqlite":
        assert r.exit_code == 2 and "pg_dump" in one_line_error(r)
        return
    assert r.exit_code == 0, r
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert cli("--db", str(target), "roles", "show", "owner").exit_code == 0
    again = cli("db", "backup", str(target))
    assert again.exit_code == 2 and "exists" in one_line_error(again)


def test_unreachable_server_is_75(cli):
    r = cli("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "roles", "list")
    assert r.exit_code == 75
    assert "unreachable" in one_line_error(r)


def test_unsupported_url_is_2(cli):
    r = cli("--db", "mysql://x@y/z", "roles", "list")
    assert r.exit_code == 2
    assert "unsupported store URL" in one_line_error(r)
