"""`mailadmin batch`: many commands in one process, a JSON line each, through the CLI on both
stores: mixed lines, comments and quoting, a failing line (the rest run; --stop-on-error stops),
--atomic (all or nothing), --as for every line, no prompt ever, stdin, and the operator check
that a batch caches for reads but never across a write."""

from __future__ import annotations

import json

import pytest

from tests.helpers import audit_count

OWNER = "owner@batch.example"
OTHER = "other@batch.example"
MEMBER = "member@batch.example"


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def emails(cli) -> list[str]:
    result = cli("users", "list", "-o", "ids")
    assert result.exit_code == 0, result
    return result.stdout.split()


@pytest.fixture
def world(cli, db_url):
    for args in (["packages", "create", "pro", "--role", "admin"], ["users", "create", OWNER, "--package", "pro"],
                 ["users", "create", OTHER, "--package", "pro"],
                 ["users", "invite", OWNER, MEMBER, "--role", "viewer"]):
        result = cli(*args)
        assert result.exit_code == 0, (args, result)
    return db_url


def test_mixed_lines_comments_and_quoting(cli, world, tmp_path):
    script = tmp_path / "changes.txt"
    script.write_text(
        "# set up a client\n"
        "\n"
        'users create new@batch.example --package pro --name "New  Client"   # a trailing comment\n'
        "   mailadmin users show new@batch.example -o json\n"
        "users list -o ids --search 'batch.example'\n"
        "users can member@batch.example campaigns.edit\n"
        "roles show viewer\n", encoding="utf-8")
    result = cli("batch", str(script))
    assert result.exit_code == 1, result  # `users can` answers no: exit 1
    got = lines_of(result)
    assert [g["line"] for g in got] == [3, 4, 5, 6, 7]
    assert all(set(g) == {"line", "command", "exit", "output", "error", "message"} for g in got)
    created, shown, listed, can, role = got
    assert created["exit"] == 0 and created["command"].startswith("users create new@batch.example")
    assert shown["output"]["email"] == "new@batch.example" and shown["output"]["name"] == "New  Client"
    assert shown["command"] == "mailadmin users show new@batch.example -o json"
    assert listed["output"].split("\n") == [OWNER, OTHER, MEMBER, "new@batch.example"]
    assert can["exit"] == 1 and can["output"].startswith("no") and can["error"] is None
    assert role["exit"] == 0 and isinstance(role["output"], str) and "viewer" in role["output"]
    assert result.stderr == ""
    assert "new@batch.example" in emails(cli)


def test_a_failing_line_does_not_stop_the_others(cli, world):
    text = f"users show nobody@batch.example\nusers suspend {OTHER} --reason late --yes -q\n"
    result = cli("batch", "-", input=text)
    assert result.exit_code == 1, result
    missing, suspended = lines_of(result)
    assert missing["exit"] == 3 and missing["error"].startswith("error: no user 'nobody@batch.example'")
    assert missing["output"] is None
    assert suspended["exit"] == 0
    assert cli("users", "show", OTHER, "-o", "json").json()["status"] == "suspended"


def test_stop_on_error_stops_at_the_first_failure(cli, world):
    before = audit_count(world)
    text = f"users suspend {OTHER} --reason a --yes -q\nusers show nobody@batch.example\nusers suspend {OWNER} --reason b --yes\n"
    result = cli("batch", "--stop-on-error", input=text)
    assert result.exit_code == 1, result
    assert [(g["line"], g["exit"]) for g in lines_of(result)] == [(1, 0), (2, 3)]  # line 3 neither run nor printed
    assert audit_count(world) == before + 1
    assert cli("users", "show", OWNER, "-o", "json").json()["status"] == "active"


def test_every_line_succeeding_is_exit_0(cli, world):
    result = cli("batch", input="roles list -o ids\npackages list -o ids\n")
    assert result.exit_code == 0, result
    assert [g["exit"] for g in lines_of(result)] == [0, 0]


def test_atomic_rolls_every_line_back_at_the_first_failure(cli, world):
    before, listed = audit_count(world), emails(cli)
    text = (f"users suspend {OTHER} --reason a --yes -q\n"
            "users create late@batch.example --package pro\n"
            "users show late@batch.example -o json\n"  # sees the line before it: one transaction
            "users create bad --package pro\n"
            "users create never@batch.example --package pro\n")
    result = cli("batch", "--atomic", input=text)
    assert result.exit_code == 1, result
    *got, summary = lines_of(result)
    assert [(g["line"], g["exit"]) for g in got] == [(1, 0), (2, 0), (3, 0), (4, 2)]
    assert got[2]["output"]["email"] == "late@batch.example"
    assert summary == {"atomic": True, "committed": False, "rolled_back": True, "lines_run": 4, "failed_line": 4}
    assert audit_count(world) == before
    assert emails(cli) == listed
    assert cli("users", "show", OTHER, "-o", "json").json()["status"] == "active"


def test_atomic_commits_all_when_every_line_succeeds(cli, world):
    before = audit_count(world)
    text = f"users suspend {OTHER} --reason a --yes -q\nusers create late@batch.example --package pro -q\n"
    result = cli("batch", "--atomic", input=text)
    assert result.exit_code == 0, result
    assert lines_of(result)[-1] == {"atomic": True, "committed": True, "rolled_back": False, "lines_run": 2,
                                    "failed_line": None}
    assert audit_count(world) == before + 2
    assert "late@batch.example" in emails(cli)


def test_as_applies_to_every_line(cli, world):
    text = "users list -o ids\nusers show other@batch.example\npackages create gold --role admin\n"
    result = cli("--as", OWNER, "batch", input=text)
    assert result.exit_code == 1, result
    listed, other, operator_only = lines_of(result)
    assert listed["output"].split("\n") == [OWNER, MEMBER]  # the owner's account only
    assert other["exit"] == 3  # another account reads as not found
    assert operator_only["exit"] == 4 and "operator action" in operator_only["error"]


def test_a_line_may_act_as_someone_when_the_batch_does_not(cli, world):
    result = cli("batch", input=f"--as {OWNER} users list -o ids\nusers list -o ids\n")
    assert result.exit_code == 0, result
    mine, everyone = lines_of(result)
    assert mine["output"].split("\n") == [OWNER, MEMBER]
    assert everyone["output"].split("\n") == [OWNER, OTHER, MEMBER]


def test_a_destructive_line_without_yes_never_prompts(cli, world):
    before = audit_count(world)
    result = cli("batch", input=f"users suspend {OTHER} --reason a\n")
    assert result.exit_code == 1, result
    (line,) = lines_of(result)
    assert line["exit"] == 2 and "needs confirmation" in line["error"] and "--yes" in line["error"]
    assert audit_count(world) == before
    assert cli("users", "show", OTHER, "-o", "json").json()["status"] == "active"


def test_stdin_dash_and_a_real_process(run, world):
    result = run("batch", "-", input="roles show viewer -o json\n")
    assert result.exit_code == 0, result
    (line,) = lines_of(result)
    assert line["output"]["name"] == "viewer"


def test_a_read_never_reuses_the_operator_check_across_a_write(cli, world):
    """Reads reuse the batch's operator check; a write clears it: once `operators add` registers
    someone else, the runner's next read is refused."""
    runner = {"LOGNAME": "tester", "USER": "tester"}
    text = "roles list -o ids\noperators add boss --role superadmin --force -q\nroles list -o ids\n"
    result = cli("batch", input=text, env=runner)
    assert result.exit_code == 1, result
    assert [g["exit"] for g in lines_of(result)] == [0, 0, 4]
    assert "not a registered operator" in lines_of(result)[2]["error"]


@pytest.mark.parametrize(("atomic", "kept"), [(False, "the lines before it stay done"),
                                              (True, "nothing was committed (--atomic)")])
def test_ctrl_c_names_the_line_and_what_stays(world, backend, cli_env, tmp_path, atomic, kept):
    """Ctrl-C while a line waits for another writer's lock: exit 130, one line naming the line."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    from tests.helpers import write_lock_held

    before = audit_count(world)
    text = f"config path\nusers suspend {OTHER} --reason a --yes -q\n"  # line 1 needs no store
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO), "MAILADMIN_BUSY_TIMEOUT_MS": "60000"}
    with write_lock_held(world, backend):
        script = tmp_path / "batch.txt"
        script.write_text(text)
        proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "batch", str(script), *(["--atomic"] if atomic else [])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        first = proc.stdout.readline()  # line 1 done (each result is flushed): line 2 is starting
        assert json.loads(first)["line"] == 1
        time.sleep(1)  # line 2 opens the store and waits for the write lock
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines() == [err.strip()] and "interrupted at line 2" in err and kept in err, err
    assert audit_count(world) == before


def test_a_batch_leaves_no_store_open(db_url, backend, tmp_path):
    """The lines share one store, and the batch closes it: nothing stays open after it."""
    import io

    from mailadmin.cli.app import invoke
    from tests.cli.test_invocations import _open_handles, _pg_connections
    from tests.conftest import BASE_ENV

    env = {**BASE_ENV, "MAILADMIN_CONFIG": str(tmp_path / "none.toml")}
    out = io.StringIO()
    code = invoke(["--db", db_url, "batch"], stdin=io.StringIO("roles list -o ids\n" * 20), stdout=out,
                  stderr=io.StringIO(), env=env)
    assert code == 0 and len(out.getvalue().splitlines()) == 20
    if backend == "sqlite":
        assert _open_handles(db_url) == 0
    else:
        assert _pg_connections(db_url) == 0


def test_the_performance_suite_lists_its_benchmarks():
    """benchmarks/run_all.py imports every benchmark it lists (nothing is timed here)."""
    import importlib
    import subprocess
    import sys

    from tests.conftest import REPO

    listed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--list"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert {"bench_startup", "bench_users_show", "bench_users_can", "bench_bulk_suspend", "bench_credits_csv",
            "bench_credits_concurrent", "bench_usage", "bench_batch"} <= set(listed)
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        for name in listed:
            module = importlib.import_module(name)
            assert callable(getattr(module, "figures", None)) or name in ("bench_import", "bench_apply"), name
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
