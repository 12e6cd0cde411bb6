"""Bulk suspend as scripts use it, with real processes: the canonical pipeline through a shell
pipe, a stream of a couple of thousand ids, and SIGKILL in the middle leaving all or nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from tests.conftest import REPO

N = 2000


@pytest.fixture
def many(op):
    """N owners on package `bulk` (inserted set-based: the CLI that creates them is not the subject)."""
    from mailadmin.services import users
    from tests.factories import make_package

    with op.write() as o:
        bulk = make_package(o.session, "bulk")
        other = make_package(o.session, "other")
        users.insert_owners(o, [{"email": f"user{i:05d}@bulk.example", "package_id": bulk.id} for i in range(N)])
        users.insert_owners(o, [{"email": "bystander@other.example", "package_id": other.id}])
    return [f"user{i:05d}@bulk.example" for i in range(N)]


def standing_count(store) -> int:
    from mailadmin.services.status import standing
    from mailadmin.store.models import Suspension
    from mailadmin.timeutil import utcnow

    with store.read() as session:
        return session.execute(select(func.count()).select_from(Suspension).where(standing(utcnow()))).scalar_one()


def test_list_ids_piped_into_suspend_through_a_shell(many, cli_env, store):
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    py = sys.executable
    pipeline = (f"'{py}' -m mailadmin users list --package bulk --status active -o ids"
                f" | '{py}' -m mailadmin users suspend - --reason 'bulk test' --code abuse --yes -o json")
    proc = subprocess.run(["sh", "-c", pipeline], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json

    report = json.loads(proc.stdout)
    assert len(report["changed"]) == N and report["unchanged"] == [] and report["failed"] == []
    assert standing_count(store) == N
    assert f"suspended {N} users" in proc.stderr
    # the same pipeline again: every one is unchanged, still exit 0
    proc = subprocess.run(["sh", "-c", pipeline.replace("--status active", "")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)["unchanged"]) == N


def test_pipeline_with_run_fixture_feeding_one_output_to_the_next(many, run):
    ids = run("users", "list", "--package", "bulk", "-o", "ids")
    assert ids.exit_code == 0 and len(ids.stdout.splitlines()) == N
    r = run("users", "close", "-", "--reason", "gone", "--yes", input=ids.stdout)
    assert r.exit_code == 0, r
    assert r.stderr.strip() == f"closed {N} users"
    assert run("users", "list", "--status", "closed", "-o", "ids").stdout == ids.stdout
    assert run("users", "show", "bystander@other.example", "-o", "json").json()["status"] == "active"


def writing_started(store) -> bool:
    """Whether another process is inside a write of the store, seen from outside it.

    PostgreSQL: a backend holds ROW EXCLUSIVE on `suspension`, taken by its first INSERT and
    held until commit or rollback. SQLite: the write lock is held (taken by the run's BEGIN
    IMMEDIATE, after start-up, and kept until commit); probed without waiting for it."""
    if not store.is_sqlite:
        from sqlalchemy import text

        with store.engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE c.relname = 'suspension' AND l.mode = 'RowExclusiveLock' AND l.granted"
                " AND l.pid <> pg_backend_pid()"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )).scalar_one())
    import sqlite3

    probe = sqlite3.connect(store.url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return True
    finally:
        probe.close()


def test_sigkill_in_the_middle_leaves_all_or_nothing(many, cli_env, store):
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "users", "suspend", "-", "--reason", "x", "--yes"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdin.write("".join(f"{e}\n" for e in many).encode())
    proc.stdin.close()
    # kill only once the run is provably writing: a kill before start-up would pass trivially
    deadline = time.monotonic() + 60
    while not writing_started(store):
        assert proc.poll() is None, f"the run ended before it was seen writing: {proc.stderr.read().decode()}"
        assert time.monotonic() < deadline, "the run was never seen writing"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL  # killed inside its transaction, not after it ended
    assert standing_count(store) in (0, N)


def test_unknown_id_in_a_large_stream_changes_nothing(many, run, store):
    text = "".join(f"{e}\n" for e in many[:1500]) + "ghost@bulk.example\n" + "".join(f"{e}\n" for e in many[1500:])
    r = run("users", "suspend", "-", "--reason", "x", "--yes", input=text)
    assert r.exit_code == 3, r
    assert r.stderr.count("\n") == 1 and "1 unknown user(s): ghost@bulk.example" in r.stderr
    assert standing_count(store) == 0


# -- issue 8: prompts through pipes, and stdin as other programs write it --------------------------
def _on_a_terminal(args, stdin_text: str, answer: bytes, env) -> tuple[int, str, str]:
    """Run mailadmin with ids piped on stdin and a pseudo-terminal as its controlling terminal and
    stderr (a person at a shell: `... | mailadmin users suspend -`); answer the question typed at
    the terminal. Returns (exit code, stdout, what the terminal showed)."""
    import fcntl
    import pty
    import select
    import termios

    master, slave = pty.openpty()

    def become_session_leader_on_the_pty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "mailadmin", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=slave, env=env, preexec_fn=become_session_leader_on_the_pty, pass_fds=(slave,))
    os.close(slave)
    proc.stdin.write(stdin_text.encode())
    proc.stdin.close()
    shown = b""

    def read_until(done, seconds: float = 60) -> None:
        nonlocal shown
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    shown += os.read(master, 4096)
                except OSError:  # the terminal closed: the process is gone
                    return

    read_until(lambda: b"[y/N]" in shown or proc.poll() is not None)
    os.write(master, answer)
    out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    read_until(lambda: False, seconds=0.5)
    os.close(master)
    return proc.returncode, out, shown.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code"), [(b"y\n", 0), (b"n\n", 1)])
def test_ids_on_stdin_and_the_answer_from_the_terminal(many, cli_env, store, answer, code):
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    ids = "".join(f"{e}\n" for e in many[:40])
    rc, out, shown = _on_a_terminal(["users", "suspend", "-", "--reason", "tty", "-o", "json"], ids, answer, env)
    assert "suspend 40 users? [y/N]" in shown
    assert rc == code, shown
    if code == 0:
        import json

        assert len(json.loads(out)["changed"]) == 40 and standing_count(store) == 40
    else:
        assert "cancelled; nothing changed" in shown and out == "" and standing_count(store) == 0


def test_without_a_terminal_or_yes_stdin_is_never_read(many, cli_env, store):
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    # stdin stays open and empty: a run that waited to read it would hang until the timeout
    proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "users", "suspend", "-", "--reason", "x"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)  # no controlling terminal, as under cron
    try:
        proc.wait(timeout=60)
        err = proc.stderr.read().decode()
    finally:
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 2 and "add --yes" in err and err.count("\n") == 1
    assert standing_count(store) == 0


def test_bom_and_lone_cr_line_ends_through_a_real_pipe(many, run, store):
    # a POSIX stdin splits at LF only: a file saved with old Mac line ends is one line to it
    text = "\ufeff" + "\r".join(many[:3]) + "\r" + many[3] + "\r\n"
    r = run("users", "suspend", "-", "--reason", "cr", "--yes", "-o", "json", input=text)
    assert r.exit_code == 0, r
    assert r.json()["changed"] == many[:4] and standing_count(store) == 4
    r = run("users", "suspend", "-", "--reason", "cr", "--yes", input="#²\r" + many[5] + "\r")
    assert r.exit_code == 2 and "neither an email nor #ID: #²" in r.stderr and standing_count(store) == 4
