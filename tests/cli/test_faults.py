"""Faults around the commands (issue 8): stores that are not what they seem, a table locked by
someone else, output that cannot be written after a commit, and Ctrl-C. Each is its documented
exit code and one line; a committed change is never reported as a failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.helpers import refused, write_lock_held


def _sql(db_url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


# -- stores that are not what they seem ------------------------------------------------------
def test_a_file_that_is_not_a_database_is_78_naming_it(run, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 100)
    for args in (["roles", "list"], ["db", "status"], ["init"], ["db", "upgrade"]):
        r = run("--db", str(path), *args)
        refused(r, 78, f"{path} is not a mailadmin store")
    assert path.read_text() == "shopping list\n" * 100


def test_a_store_from_a_newer_mailadmin_is_refused_even_by_upgrade(run, db_url):
    _sql(db_url, "UPDATE alembic_version SET version_num = '0099'")
    for args in (["roles", "list"], ["db", "upgrade"], ["init"]):
        refused(run(*args), 78, "this store was upgraded by a newer mailadmin")


def test_a_mistyped_store_path_creates_nothing(run, tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "typo.db"
    r = run("--db", str(target), "users", "show", "#1")
    refused(r, 78, f"no store at {target}")
    assert "mailadmin init --db" in r.stderr
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("what", ["database", "role"])
def test_a_missing_postgresql_database_or_role_is_78_not_75(run, backend, db_url, what):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL server's answer")
    base, name = db_url.rsplit("/", 1)
    url = f"{base}/ma_missing_db" if what == "database" else db_url.replace("//postgres@", "//ma_no_such_role@")
    refused(run("--db", url, "roles", "list"), 78, "does not exist")


def test_a_read_behind_a_locked_table_gives_up_with_75(run, backend, db_url):
    if backend != "postgresql":
        pytest.skip("SQLite readers never wait for writers (WAL)")
    import psycopg

    holder = psycopg.connect(db_url.replace("+psycopg", ""))
    holder.execute('LOCK TABLE role IN ACCESS EXCLUSIVE MODE')
    try:
        started = time.monotonic()
        r = run("roles", "list", env={"MAILADMIN_BUSY_TIMEOUT_MS": "400"}, timeout=30)
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    refused(r, 75, "locked by another writer")
    assert waited < 20  # bounded, not a hang


# -- output that cannot be written -----------------------------------------------------------
def _shell(cmd: str, cli_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    return subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], env=env, capture_output=True, text=True, timeout=120)


MA = f"{sys.executable} -m mailadmin"


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"])
@pytest.mark.parametrize(("change", "check"), [
    ("roles create written -o json", "roles show written"),
    ("packages create written --role regular -o json", "packages show written"),
    ("users create written@example.com --package free -o json", "users show written@example.com"),
    ("credits add paid@example.com 5 --reason test -o json", "credits history paid@example.com -o json"),
    ("users suspend paid@example.com --reason test --yes -o json", "users list --status suspended -o ids"),
])
def test_a_committed_change_is_never_reported_as_a_failure(cli, cli_env, change, check, redirect):
    assert cli("packages", "create", "free", "--role", "regular", "--credits").exit_code == 0
    assert cli("users", "create", "paid@example.com", "--package", "free").exit_code == 0
    proc = _shell(f"{MA} {change} {redirect}", cli_env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: the change was made") and "Traceback" not in proc.stderr
    shown = cli(*check.split())
    assert shown.exit_code == 0 and ("paid@example.com" in shown.stdout or "written" in shown.stdout or shown.stdout.strip())


@pytest.mark.parametrize("fmt", ["table", "wide", "json", "csv", "ids"])
def test_a_reader_that_goes_away_is_not_an_error(cli_env, db_url, fmt):
    env = {**cli_env}
    assert _shell(f"{MA} init --sample >/dev/null 2>&1", env).returncode == 0
    proc = _shell(f"{MA} users list --limit 0 -o {fmt} | head -1 >/dev/null", env)
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"])
def test_a_read_whose_output_cannot_be_written_fails_with_one_line(cli_env, redirect):
    proc = _shell(f"{MA} roles list -o json {redirect}", cli_env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot write the output") and proc.stderr.count("\n") == 1


# -- Ctrl-C -----------------------------------------------------------------------------------
def test_ctrl_c_while_waiting_for_the_store_says_nothing_was_changed(backend, db_url, cli_env):
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO), "MAILADMIN_BUSY_TIMEOUT_MS": "60000"}
    with write_lock_held(db_url, backend):
        proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "roles", "create", "never"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)  # started, and waiting for the write lock
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert (out, err) == ("", "interrupted; nothing was changed\n")
    r = subprocess.run([sys.executable, "-m", "mailadmin", "roles", "show", "never"], env=env, capture_output=True, text=True)
    assert r.returncode == 3
