"""8 real `mailadmin users record` processes sending for one account at once, on SQLite and
PostgreSQL: the account never passes its limit, no count is lost, overuse is never charged twice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

PROCESSES = 8
BATCH = 10
USER = "race@u.example"
NOW = "2026-11-26T14:30:00Z"


@pytest.mark.parametrize(("package", "credits", "counted", "charged"), [
    # 50 an hour: five batches fit, three are refused whole
    (["--limit", "hourly=50"], None, 50, []),
    # 30 an hour, overuse at 0.01 with 0.25 credits: three batches fit, two are paid (0.10 each), three refused
    (["--limit", "hourly=30", "--credits", "--credit-cost", "0.01", "--allow-overuse"], "0.25", 50, [-1000, -1000]),
])
def test_eight_processes_never_pass_the_limit_lose_a_count_or_pay_twice(cli, cli_env, db_url, package, credits, counted, charged):
    from tests.cli.test_usage import ledger, sql

    assert cli("packages", "create", "race", "--role", "regular", *package).exit_code == 0
    assert cli("users", "create", USER, "--package", "race").exit_code == 0
    if credits:
        assert cli("credits", "add", USER, credits, "--reason", "prepaid").exit_code == 0
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO), "MAILADMIN_TEST_NOW": NOW, "MAILADMIN_BUSY_TIMEOUT_MS": "600000"}
    procs = [subprocess.Popen([sys.executable, "-m", "mailadmin", "users", "record", USER, "--sent", str(BATCH), "-o", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(PROCESSES)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _out, _err in results)
    assert codes == [0] * (counted // BATCH) + [6] * (PROCESSES - counted // BATCH), results
    for code, _out, err in results:
        if code == 6:
            assert err.count("\n") == 1 and "nothing was counted" in err, err
    rows = dict(sql(db_url, "SELECT span, sent FROM usage_counter"))
    assert rows == {"hour": counted, "day": counted, "month": counted}
    assert [a for k, a, _r in ledger(db_url, USER) if k == "overuse"] == charged
    overuse = dict(sql(db_url, "SELECT span, overuse FROM usage_counter"))
    assert overuse["hour"] == BATCH * len(charged)
    verify = cli("credits", "verify", "-o", "json")
    assert verify.exit_code == 0 and verify.json()["ok"] is True
