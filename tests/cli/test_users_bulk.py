"""Bulk suspend as scripts use it, with real processes: the canonical pipeline through a shell
pipe, a stream of a couple of thousand ids, and SIGKILL in the middle leaving all or nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from tests.conftest import REPO

N = 2000


@pytest.fixture
def many(store):
    """N owners on package `bulk` (inserted set-based: the CLI that creates them is not the subject)."""
    from mailadmin.services import packages, users
    from mailadmin.store.models import Package

    with store.write() as session:
        packages.create(session, "test", "bulk", packages.parse_settings(role="regular"))
        packages.create(session, "test", "other", packages.parse_settings(role="regular"))
        pid = session.execute(select(Package.id).where(Package.name == "bulk")).scalar_one()
        other = session.execute(select(Package.id).where(Package.name == "other")).scalar_one()
        users.insert_owners(session, "test", [{"email": f"user{i:05d}@bulk.example", "package_id": pid} for i in range(N)])
        users.insert_owners(session, "test", [{"email": "bystander@other.example", "package_id": other}])
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


def test_sigkill_in_the_middle_leaves_all_or_nothing(many, cli_env, store):
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "users", "suspend", "-", "--reason", "x", "--yes"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdin.write("".join(f"{e}\n" for e in many).encode())
    proc.stdin.close()
    time.sleep(random.uniform(0.3, 1.2))  # somewhere between start-up and commit
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    assert standing_count(store) in (0, N)


def test_unknown_id_in_a_large_stream_changes_nothing(many, run, store):
    text = "".join(f"{e}\n" for e in many[:1500]) + "ghost@bulk.example\n" + "".join(f"{e}\n" for e in many[1500:])
    r = run("users", "suspend", "-", "--reason", "x", "--yes", input=text)
    assert r.exit_code == 3, r
    assert r.stderr.count("\n") == 1 and "1 unknown user(s): ghost@bulk.example" in r.stderr
    assert standing_count(store) == 0
