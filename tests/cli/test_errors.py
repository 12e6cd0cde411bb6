"""The error boundary: one stderr line and the documented exit code; a traceback only on request."""

from __future__ import annotations

import sqlite3

import pytest

from tests.helpers import one_line_error, write_lock_held


def test_a_store_path_that_cannot_be_created_is_78(run):
    env = {"MAILADMIN_DB": "/proc/forbidden/x.db"}
    r = run("init", env=env)
    assert r.exit_code == 78
    assert "cannot create the store" in one_line_error(r)
    r = run("roles", "list", env=env)
    assert r.exit_code == 78
    assert "no store at /proc/forbidden/x.db" in one_line_error(r)


def test_debug_shows_the_traceback(run):
    r = run("roles", "show", "nosuch", env={"MAILADMIN_DEBUG": "1"})
    assert r.exit_code == 3
    assert "Traceback" in r.stderr and "error: no role named 'nosuch'" in r.stderr


def test_no_arguments_prints_help_and_exits_2(run):
    r = run()
    assert r.exit_code == 2
    assert "Usage" in r.stdout + r.stderr


def test_a_write_lock_held_past_the_busy_timeout_is_75(run, db_url, backend):
    with write_lock_held(db_url, backend):
        r = run("roles", "create", "blocked", env={"MAILADMIN_BUSY_TIMEOUT_MS": "300"})
    assert r.exit_code == 75
    assert "locked by another writer" in one_line_error(r)
    assert run("roles", "show", "blocked").exit_code == 3


def test_a_writer_waits_for_the_lock_instead_of_failing(run, db_url, backend):
    """Within the busy timeout a second writer waits and then succeeds (BEGIN IMMEDIATE)."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    import subprocess
    import sys
    import time

    holder = sqlite3.connect(db_url, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    import os

    from tests.conftest import BASE_ENV, REPO

    env = {**os.environ, **BASE_ENV, "PYTHONPATH": str(REPO), "MAILADMIN_DB": db_url, "MAILADMIN_BUSY_TIMEOUT_MS": "20000"}
    proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "roles", "create", "waiter"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert proc.poll() is None  # still waiting for the lock
    holder.rollback()
    holder.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert run("roles", "show", "waiter").exit_code == 0


def test_bad_busy_timeout_setting_is_78(run):
    r = run("roles", "list", env={"MAILADMIN_BUSY_TIMEOUT_MS": "soon"})
    assert r.exit_code == 78
    assert "MAILADMIN_BUSY_TIMEOUT_MS" in one_line_error(r)


def test_broken_pipe_is_quiet(run, cli_env):
    """A reader that goes away early (`| head`) is not an error: exit 0 under pipefail, no noise."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    cmd = f"set -o pipefail; {sys.executable} -m mailadmin roles permissions | head -c 10 >/dev/null"
    proc = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
