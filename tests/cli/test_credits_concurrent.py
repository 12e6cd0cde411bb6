"""Concurrent writers on one store: real processes, real CLI, SQLite file and PostgreSQL.

16 processes x 50 top-ups, each its own transaction; process pairs share the keys of half their
top-ups, so every shared key is raced by two processes. Afterwards exactly the expected entries
exist, `credits verify` is clean and no invocation failed. 800 separate interpreter launches would
take minutes on a 2-core machine, so each process is a real subprocess that runs the real CLI
entry (the same error boundary as `python -m mailadmin`) 50 times; a smaller test races true
`python -m mailadmin` processes on one key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from tests.conftest import REPO
from tests.helpers import one_line_error

PROCESSES = 16
TOPUPS = 50
SHARED = 25  # the first SHARED top-ups of each process share their key with its pair
ACCOUNTS = [f"acct{n}@example.com" for n in range(4)]

# Runs the CLI entry in-process, once per argument list; waits for a go-file so all processes
# start writing together; prints the exit codes as JSON.
DRIVER = r"""
import json, os, sys, time
from typer.main import get_command
from mailadmin.cli.app import app

plans = json.loads(open(sys.argv[1]).read())
command = get_command(app)
go = sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.01)
codes = []
for args in plans:
    try:
        command.main(args, prog_name="mailadmin")
    except SystemExit as exc:
        codes.append(exc.code)
print(json.dumps(codes))
"""


def _plan(process: int) -> list[tuple[str, str, str, str]]:
    """(user, amount, reason, key) for each top-up of one process."""
    pair = process // 2
    out = []
    for j in range(TOPUPS):
        if j < SHARED:
            user = ACCOUNTS[(pair + j) % len(ACCOUNTS)]
            out.append((user, f"{pair + 1}.{j:04d}", f"pair {pair} run {j}", f"shared:{pair}:{j}"))
        else:
            user = ACCOUNTS[(process + j) % len(ACCOUNTS)]
            out.append((user, f"0.{process + 1:04d}", f"process {process} run {j}", f"own:{process}:{j}"))
    return out


def _env(cli_env, **extra) -> dict[str, str]:
    return {**os.environ, **cli_env, "PYTHONPATH": str(REPO), **extra}


@pytest.fixture
def accounts(db_url):
    from mailadmin.store import open_store
    from tests.factories import make_owner, make_package

    store = open_store(db_url)
    with store.write() as s:
        package = make_package(s, "metered", credits_enabled=True)
        for email in ACCOUNTS:
            make_owner(s, email, package)
    store.dispose()
    return ACCOUNTS


def test_sixteen_writers_lose_and_double_nothing(cli, cli_env, accounts, tmp_path):
    go = tmp_path / "go"
    procs = []
    for p in range(PROCESSES):
        plans = tmp_path / f"plan{p}.json"
        plans.write_text(json.dumps([["credits", "add", u, a, "--reason", r, "--key", k, "-q"] for u, a, r, k in _plan(p)]))
        # Headroom for the lock wait: 16 writers back to back is far denser than cron, and SQLite's
        # lock is not fair, so on a loaded 2-core CI box (xdist beside it) one writer can wait past
        # the default 10 s. What this test proves is that nothing is lost, doubled or failed.
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, str(plans), str(go)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=_env(cli_env, MAILADMIN_BUSY_TIMEOUT_MS="600000")))
    time.sleep(1.0)  # let the interpreters import; then everyone writes at once
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        outputs.append((proc.returncode, out, err))
    for code, out, err in outputs:
        assert code == 0, err
        assert json.loads(out) == [0] * TOPUPS, err
        assert "error" not in err, err

    expected: dict[tuple[str, str], Decimal] = {}
    for p in range(PROCESSES):
        for user, amount, _reason, key in _plan(p):
            expected[(user, key)] = Decimal(amount)
    assert len(expected) == PROCESSES // 2 * SHARED + PROCESSES * (TOPUPS - SHARED)

    for user in ACCOUNTS:
        entries = cli("credits", "history", user, "--limit", "0", "-o", "json").json()
        got = {(user, e["key"]): Decimal(e["amount"]) for e in entries}
        assert len(got) == len(entries), "a key was applied twice"
        assert got == {k: v for k, v in expected.items() if k[0] == user}
        balance = cli("credits", "balance", user, "-o", "json").json()["balance"]
        assert Decimal(balance) == sum(got.values())
    verify = cli("credits", "verify", "-o", "json")
    assert verify.exit_code == 0, verify
    assert verify.json()["ok"] is True and verify.json()["entries"] == len(expected)


def test_processes_racing_on_one_key_pay_once(cli, cli_env, accounts):
    args = [sys.executable, "-m", "mailadmin", "credits", "add", ACCOUNTS[0], "7.25", "--reason", "race", "--key", "race:1"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(cli_env))
             for _ in range(5)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0] * 5, results
    assert sum("already applied" in err for _, err in results) == 4, results
    entries = cli("credits", "history", ACCOUNTS[0], "-o", "json").json()
    assert [(e["key"], e["amount"]) for e in entries] == [("race:1", "7.2500")]
    assert cli("credits", "balance", ACCOUNTS[0], "-o", "json").json()["balance"] == "7.2500"


def test_a_lock_held_past_the_busy_timeout_is_exit_75(run, accounts, db_url, backend, cli):
    """Another writer holds the lock: wait MAILADMIN_BUSY_TIMEOUT_MS, then one line and exit 75."""
    if backend == "sqlite":
        import sqlite3

        holder = sqlite3.connect(db_url, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.rollback
    else:
        import psycopg

        from mailadmin.store.engine import PG_WRITE_LOCK

        holder = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        holder.execute("SELECT pg_advisory_lock(%s)", (PG_WRITE_LOCK,))
        release = lambda: holder.execute("SELECT pg_advisory_unlock(%s)", (PG_WRITE_LOCK,))  # noqa: E731
    try:
        r = run("credits", "add", ACCOUNTS[0], "5", "--reason", "cron", "--key", "k", env={"MAILADMIN_BUSY_TIMEOUT_MS": "200"})
    finally:
        release()
        holder.close()
    assert r.exit_code == 75, r
    assert "locked by another writer" in one_line_error(r)
    assert cli("credits", "history", ACCOUNTS[0], "-o", "json").json() == []
    # the retry a cron job would make succeeds once the lock is gone
    assert run("credits", "add", ACCOUNTS[0], "5", "--reason", "cron", "--key", "k").exit_code == 0
    assert cli("credits", "balance", ACCOUNTS[0], "-o", "json").json()["balance"] == "5.0000"
