"""Many commands in one process, through the entry point batch mode uses (`app.invoke`): each one
gets its own streams, config, store, clock and debug switch, and leaves nothing behind."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from mailadmin.cli.app import invoke
from tests.conftest import BASE_ENV


def _open_handles(*paths: str) -> int:
    """Descriptors of this process open on any of `paths` (SQLite files and their WAL)."""
    wanted = {os.path.realpath(p) for p in paths}
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if any(target.startswith(w) for w in wanted):
            count += 1
    return count


def _pg_connections(db_url: str) -> int:
    import psycopg

    dbname = db_url.rsplit("/", 1)[1]
    admin = db_url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)).fetchone()[0]


def test_several_commands_in_one_process_share_nothing(db_url, backend, tmp_path):
    other = str(tmp_path / "other.db")
    plain_env = {**BASE_ENV, "MAILADMIN_CONFIG": str(tmp_path / "none.toml")}
    csv_config = tmp_path / "csv.toml"
    csv_config.write_text('output = "csv"\n', encoding="utf-8")

    def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = invoke(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err, env=env or plain_env)
        return code, out.getvalue(), err.getvalue()

    # two stores, even two backends, one after the other
    code, _, err = run("--db", other, "init")
    assert code == 0 and "created the store" in err
    assert run("--db", db_url, "roles", "create", "only-in-a")[0] == 0
    code, out, err = run("--db", other, "roles", "show", "only-in-a")
    assert (code, out) == (3, "") and err.startswith("error: no role named 'only-in-a'")
    code, out, err = run("--db", db_url, "roles", "show", "only-in-a", "-o", "json")
    assert code == 0 and json.loads(out)["name"] == "only-in-a" and err == ""

    # one invocation's config file does not leak into the next
    code, out, _ = run("--db", db_url, "roles", "list", env={**plain_env, "MAILADMIN_CONFIG": str(csv_config)})
    assert code == 0 and out.startswith("name,builtin,")
    code, out, _ = run("--db", db_url, "roles", "list")
    assert code == 0 and out.startswith("+") and "only-in-a" in out

    # nor does its clock
    fixed = {**plain_env, "MAILADMIN_TEST_NOW": "2030-01-02T03:04:05Z"}
    assert run("--db", db_url, "roles", "create", "timed", env=fixed)[0] == 0
    assert run("--db", db_url, "roles", "create", "untimed")[0] == 0
    entries = json.loads(run("--db", db_url, "audit", "list", "-n", "2", "-o", "json")[1])
    assert [e["target"] for e in entries] == ["role:untimed", "role:timed"]
    assert entries[1]["at"] == "2030-01-02T03:04:05Z" and entries[0]["at"] != "2030-01-02T03:04:05Z"

    # nor its debug switch, nor a failure's output
    code, _, err = run("--db", db_url, "roles", "show", "nosuch", env={**plain_env, "MAILADMIN_DEBUG": "1"})
    assert code == 3 and "Traceback" in err
    code, out, err = run("--db", db_url, "roles", "show")
    assert code == 2 and out == "" and "Traceback" not in err
    code, out, err = run("--db", db_url, "roles", "show", "nosuch")
    assert code == 3 and err.count("\n") == 1 and "Traceback" not in err
    code, out, err = run("--db", other, "roles", "list", "-o", "ids")
    assert code == 0 and err == "" and "only-in-a" not in out.split() and "owner" in out.split()

    # every invocation closed its store behind it
    assert _open_handles(other) == 0
    if backend == "sqlite":
        assert _open_handles(db_url) == 0
    else:
        assert _pg_connections(db_url) == 0


def test_invoke_never_raises_and_never_exits(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    env = {**BASE_ENV, "MAILADMIN_CONFIG": str(tmp_path / "none.toml")}
    assert invoke(["no-such-group"], stdout=out, stderr=err, env=env) == 2
    assert invoke(["--version"], stdout=out, stderr=err, env=env) == 0
    assert Path(tmp_path / "none.toml").exists() is False
    assert "mailadmin " in out.getvalue()
