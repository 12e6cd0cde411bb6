"""A committed credits change is never reported as a failure (issue 8, point 1): with stdout closed
(`>&-`) or full (`>/dev/full`) add, deduct, adjust, --from-file and --package commit, exit 0 with
one warning line, and the entry is there; the cron job that retries it then finds its key applied.
A reader that goes away (`| head -1` under pipefail) is not an error either. Real processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli.test_credits import audit_count, balance, entries, seed
from tests.conftest import REPO

MA = f"{sys.executable} -m mailadmin"


def _shell(cmd: str, cli_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    return subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def clients(db_url, cli):
    ids = seed(db_url)
    assert cli("credits", "add", "alice@example.com", "10", "--reason", "start").exit_code == 0
    return ids


def _committed_with_a_warning(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: the change was made"), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"], ids=["closed", "full"])
@pytest.mark.parametrize(("change", "kind", "amount", "after"), [
    ("credits add alice@example.com 5 --reason retried --key topup:retry", "topup", "5.0000", "15.0000"),
    ("credits deduct alice@example.com 2.5 --reason retried --key send:retry", "spend", "-2.5000", "7.5000"),
    ("credits adjust alice@example.com -12 --reason retried --key fix:retry", "adjust", "-12.0000", "-2.0000"),
], ids=["add", "deduct", "adjust"])
def test_a_committed_change_exits_0_and_its_retry_pays_once(cli, cli_env, clients, change, kind, amount, after, redirect):
    audits = audit_count(cli)
    _committed_with_a_warning(_shell(f"{MA} {change} -o json {redirect}", cli_env))
    newest = entries(cli, "alice@example.com")[0]
    assert (newest["kind"], newest["amount"], newest["reason"], newest["balance_after"]) == (kind, amount, "retried", after)
    assert audit_count(cli) == audits + 1
    retry = _shell(f"{MA} {change} -o json", cli_env)  # the cron job's retry, output working again
    assert retry.returncode == 0 and '"already_applied": true' in retry.stdout
    assert balance(cli, "alice@example.com") == after and audit_count(cli) == audits + 1


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"], ids=["closed", "full"])
def test_a_committed_file_run_exits_0_and_its_retry_changes_nothing(cli, cli_env, clients, tmp_path, redirect):
    path = tmp_path / "topups.csv"
    path.write_text("user,amount,reason,key\nalice@example.com,1,monthly,m1\nbob@example.com,2,monthly,m1\n")
    _committed_with_a_warning(_shell(f"{MA} credits add --from-file {path} -o json {redirect}", cli_env))
    assert (balance(cli, "alice@example.com"), balance(cli, "bob@example.com")) == ("11.0000", "2.0000")
    audits = audit_count(cli)
    retry = _shell(f"{MA} credits add --from-file {path} -o json", cli_env)
    assert retry.returncode == 0 and '"changed": []' in retry.stdout
    assert audit_count(cli) == audits and balance(cli, "alice@example.com") == "11.0000"


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"], ids=["closed", "full"])
def test_a_committed_package_run_exits_0(cli, cli_env, clients, redirect):
    _committed_with_a_warning(_shell(f"{MA} credits add --package gold 3 --reason monthly --key p1 -o json {redirect}", cli_env))
    assert (balance(cli, "alice@example.com"), balance(cli, "bob@example.com")) == ("13.0000", "3.0000")


def test_a_dry_run_whose_output_cannot_be_written_is_a_plain_failure(cli, cli_env, clients):
    """Nothing was committed, so nothing is said to be done: the read's error, exit 1."""
    audits = audit_count(cli)
    proc = _shell(f"{MA} credits add --package gold 3 --reason monthly --key p1 --dry-run -o json >/dev/full", cli_env)
    assert proc.returncode == 1 and proc.stderr.splitlines()[-1].startswith("error: cannot write the output")
    assert audit_count(cli) == audits and balance(cli, "bob@example.com") == "0.0000"


@pytest.fixture
def long_lists(cli, db_url, clients, tmp_path):
    """More than a pipe holds (64 KiB), so the writer really meets the closed pipe: 1500 accounts,
    and 1500 entries in bob's history."""
    from tests.cli.test_credits import many_gold_clients

    n = 1500
    many_gold_clients(db_url, n)
    path = tmp_path / "many.csv"
    path.write_text("user,amount,reason\n" + "".join(f"bob@example.com,1,entry {i}\n" for i in range(n)))
    assert cli("credits", "add", "--from-file", str(path), "-q").exit_code == 0


@pytest.mark.parametrize("command", ["credits history bob@example.com", "credits list --all"], ids=["history", "list"])
@pytest.mark.parametrize("fmt", ["table", "wide", "json", "csv", "ids"])
def test_a_reader_that_goes_away_is_not_an_error(cli_env, long_lists, command, fmt):
    proc = _shell(f"{MA} {command} --limit 0 -o {fmt} | head -1 >/dev/null", cli_env)
    assert (proc.returncode, proc.stderr) == (0, "")
