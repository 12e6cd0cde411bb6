"""Bulk top-ups: `credits add --from-file FILE.csv|-` and `credits add --package PKG`.

All or nothing (a bad row names its line and nothing is applied), idempotent per key, one
transaction, set-based (the number of statements does not grow with the rows).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.cli.test_credits import audit_count, balance, entries, many_gold_clients, seed, store_session
from tests.helpers import one_line_error

HEADER = "user,amount,reason,key\n"


@pytest.fixture
def clients(db_url):
    return seed(db_url)


def write(tmp_path, text: str, name: str = "topups.csv", *, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _state(cli) -> tuple:
    return tuple(balance(cli, f"{u}@example.com") for u in ("alice", "bob", "dave")), audit_count(cli)


# -- CSV ----------------------------------------------------------------------------------
def test_csv_with_bom_and_crlf_is_applied_and_reported(cli, clients, tmp_path):
    text = "\ufeffuser,amount,reason,key\r\nalice@example.com,10.5,December,topup:2026-12\r\nBob@Example.com,2,December,topup:2026-12\r\n#1,0.0001,rounding,\r\n"
    path = write(tmp_path, text)
    r = cli("credits", "add", "--from-file", path, "-o", "json")
    assert r.exit_code == 0, r
    report = r.json()
    assert set(report) == {"changed", "unchanged", "failed"}
    assert [(c["user"], c["amount"], c["balance"], c["key"], c["line"]) for c in report["changed"]] == [
        ("alice@example.com", "10.5000", "10.5000", "topup:2026-12", 2),
        ("bob@example.com", "2.0000", "2.0000", "topup:2026-12", 3),
        ("alice@example.com", "0.0001", "10.5001", None, 4),
    ]
    assert report["unchanged"] == [] and report["failed"] == []
    assert balance(cli, "alice@example.com") == "10.5001"
    assert [e["balance_after"] for e in entries(cli, "alice@example.com")] == ["10.5001", "10.5000"]
    assert cli("credits", "verify").exit_code == 0


def test_csv_run_twice_changes_nothing_the_second_time(cli, clients, tmp_path):
    path = write(tmp_path, HEADER + "alice@example.com,10,December,topup:2026-12\nbob@example.com,20,December,topup:2026-12\n")
    first = cli("credits", "add", "--from-file", path)
    assert first.exit_code == 0 and "applied 2 top-ups (30.0000 credits)" in first.stderr
    before = _state(cli)
    again = cli("credits", "add", "--from-file", path, "-o", "json")
    assert again.exit_code == 0, again
    assert again.json()["changed"] == [] and [u["user"] for u in again.json()["unchanged"]] == ["alice@example.com", "bob@example.com"]
    assert _state(cli) == before


def test_csv_from_stdin(cli, clients):
    r = cli("credits", "add", "--from-file", "-", "-q", input=HEADER + "alice@example.com,3,stdin run,s1\n")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert balance(cli, "alice@example.com") == "3.0000"


def test_csv_columns_in_any_order_key_optional_blank_lines_and_quoted_fields(cli, clients, tmp_path):
    path = write(tmp_path, 'Reason,USER,amount\n\n"plan, December",alice@example.com,1\nplain,bob@example.com,2\n')
    r = cli("credits", "add", "--from-file", path, "-o", "json")
    assert r.exit_code == 0, r
    assert [(c["user"], c["line"]) for c in r.json()["changed"]] == [("alice@example.com", 3), ("bob@example.com", 4)]
    assert entries(cli, "alice@example.com")[0]["reason"] == "plan, December"


def test_a_reason_spanning_lines_is_refused_at_the_line_it_starts(cli, clients, tmp_path):
    path = write(tmp_path, HEADER + 'alice@example.com,1,"two\nlines",\nbob@example.com,1,r,\nbob@example.com,1e3,r,\n')
    r = cli("credits", "add", "--from-file", path, "-o", "json")
    assert r.exit_code == 2, r
    assert [(f["line"], f["error"]) for f in r.json()["failed"]] == [
        (2, "reason must not contain control characters"),
        (5, "amount '1e3' is not valid: an amount is digits with at most 4 decimals after a dot, like 10, 0.5 or 12.3456"),
    ]


@pytest.mark.parametrize(
    ("row", "code", "needle"),
    [
        ("bob@example.com,1.00001,r,", 2, "at most 4 decimals"),
        ("bob@example.com,1e3,r,", 2, "at most 4 decimals"),
        ("bob@example.com,NaN,r,", 2, "at most 4 decimals"),
        ("bob@example.com,-0,r,", 2, "-0 is not an amount"),
        ("bob@example.com,,r,", 2, "at most 4 decimals"),
        ('bob@example.com,"1,000",r,', 2, "at most 4 decimals"),
        ("bob@example.com,-5,r,", 2, "positive"),
        ("bob@example.com,0,r,", 2, "greater than zero"),
        ("bob@example.com,5,,", 2, "reason must not be empty"),
        ("bob@example.com,5,r,bad key", 2, "printable ASCII"),
        ("bob@example.com,5,r", 2, "expected 4 fields"),
        (",5,r,", 2, "user is empty"),
        ("not-an-email,5,r,", 2, "not a valid email address"),
        ("nobody@example.com,5,r,", 3, "no user 'nobody@example.com'"),
        ("#999,5,r,", 3, "no user '#999'"),
        ("rex@example.com,5,r,", 5, "belongs to no account"),
        ("carol@example.com,5,r,", 5, "does not have credits enabled"),
        ("erin@example.com,5,r,", 5, "closed"),
        ("alice@example.com,6,r,k1", 5, "different request on line 2"),
        ("alice@example.com,5,other reason,before", 5, "already used"),
    ],
)
def test_a_bad_row_names_its_line_and_nothing_is_applied(cli, clients, tmp_path, row, code, needle):
    cli("credits", "add", "alice@example.com", "5", "--reason", "r", "--key", "before")
    before = _state(cli)
    path = write(tmp_path, HEADER + "alice@example.com,5,r,k1\n" + row + "\nbob@example.com,1,fine,\n")
    r = cli("credits", "add", "--from-file", path)
    assert r.exit_code == code, r
    line = one_line_error(r)
    assert f"{path} line 3: " in line and needle in line and "nothing was applied" in line
    assert _state(cli) == before
    report = cli("credits", "add", "--from-file", path, "-o", "json")
    assert report.exit_code == code
    assert report.json()["changed"] == [] and [f["line"] for f in report.json()["failed"]] == [3]


def test_every_bad_row_is_reported_in_json_and_counted_in_the_line(cli, clients, tmp_path):
    path = write(tmp_path, HEADER + "nobody@example.com,1,r,\nalice@example.com,1,r,\nbob@example.com,1e3,r,\ncarol@example.com,1,r,\n")
    r = cli("credits", "add", "--from-file", path, "-o", "json")
    assert r.exit_code == 3, r
    assert [(f["line"], f["id"]) for f in r.json()["failed"]] == [(2, "nobody@example.com"), (4, "bob@example.com"), (5, "carol@example.com")]
    assert "2 more refused (lines 4, 5)" in one_line_error(r)
    assert balance(cli, "alice@example.com") == "0.0000"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "is empty"),
        ("alice@example.com,1,r,k\n", "must be the header"),
        ("user,amount\nalice@example.com,1\n", "must be the header"),
        ("user,amount,reason,key,extra\n", "must be the header"),
        ("user,amount,reason,user\n", "must be the header"),
    ],
)
def test_the_header_is_required(cli, clients, tmp_path, text, needle):
    r = cli("credits", "add", "--from-file", write(tmp_path, text))
    assert r.exit_code == 2, r
    assert needle in one_line_error(r)


def test_a_file_that_is_not_utf8_or_not_there(cli, clients, tmp_path):
    latin = write(tmp_path, HEADER + "alice@example.com,1,caf\xe9,\n", encoding="latin-1")
    r = cli("credits", "add", "--from-file", latin)
    assert r.exit_code == 2 and "not UTF-8" in one_line_error(r)
    missing = cli("credits", "add", "--from-file", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "cannot read" in one_line_error(missing)
    assert balance(cli, "alice@example.com") == "0.0000"


def test_force_lets_a_csv_top_up_an_account_without_credits(cli, clients, tmp_path):
    path = write(tmp_path, HEADER + "carol@example.com,1,goodwill,g1\n")
    assert cli("credits", "add", "--from-file", path).exit_code == 5
    assert cli("credits", "add", "--from-file", path, "--force").exit_code == 0
    [row] = cli("audit", "list", "--target", "user:carol@example.com", "-o", "json").json()
    assert row["after"]["forced"] == ["credits_disabled"]


@contextmanager
def count_statements():
    """Count SQL statements sent to any engine (set-based means: not one per row)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counter = {"n": 0}

    def before(*_args, **_kw):
        counter["n"] += 1

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", before)


def test_a_large_file_is_one_set_based_transaction(cli, clients, db_url, tmp_path):
    n = 1500
    many_gold_clients(db_url, n)
    rows = "".join(f"client{i:05d}@example.com,{1 + i % 3}.25,monthly,topup:2026-12\n" for i in range(n))
    path = write(tmp_path, HEADER + rows + "alice@example.com,1,extra,\nalice@example.com,2,extra,\n")
    with count_statements() as counter:
        r = cli("credits", "add", "--from-file", path, "-o", "json")
    assert r.exit_code == 0, r
    assert len(r.json()["changed"]) == n + 2
    assert counter["n"] < 60, f"{counter['n']} statements for {n} rows"
    assert balance(cli, "client00001@example.com") == "2.2500"
    assert [e["balance_after"] for e in entries(cli, "alice@example.com")] == ["3.0000", "1.0000"]
    verify = cli("credits", "verify", "-o", "json").json()
    assert verify["ok"] and verify["entries"] == n + 2
    with count_statements() as counter:
        again = cli("credits", "add", "--from-file", path, "-q", "-o", "json")
    assert len(again.json()["unchanged"]) == n and len(again.json()["changed"]) == 2  # the keyless rows pay again
    assert counter["n"] < 60


# -- --package ------------------------------------------------------------------------------
def test_package_top_up_reaches_every_active_account_once(cli, clients):
    args = ("credits", "add", "--package", "gold", "25", "--reason", "monthly 2026-12", "--key", "topup:2026-12")
    r = cli(*args, "-o", "json")
    assert r.exit_code == 0, r
    changed = r.json()["changed"]
    # alice and bob: dave is suspended and erin closed; mia is alice's team member, not an account
    assert [(c["user"], c["account_id"], c["key"]) for c in changed] == [
        ("alice@example.com", clients["alice"], f"topup:2026-12:{clients['alice']}"),
        ("bob@example.com", clients["bob"], f"topup:2026-12:{clients['bob']}"),
    ]
    assert _state(cli)[0] == ("25.0000", "25.0000", "0.0000")
    before = _state(cli)
    again = cli(*args, "-o", "json")
    assert again.exit_code == 0
    assert again.json()["changed"] == [] and len(again.json()["unchanged"]) == 2
    assert _state(cli) == before
    plain = cli(*args)
    assert "applied 0 top-ups" in plain.stderr and "2 already applied" in plain.stderr


def test_package_top_up_next_month_pays_again(cli, clients):
    cli("credits", "add", "--package", "gold", "25", "--reason", "monthly", "--key", "topup:2026-12")
    cli("credits", "add", "--package", "gold", "25", "--reason", "monthly", "--key", "topup:2027-01")
    assert balance(cli, "alice@example.com") == "50.0000"


def test_package_top_up_same_key_other_amount_is_a_conflict_and_applies_nothing(cli, clients, db_url):
    cli("credits", "add", "--package", "gold", "25", "--reason", "monthly", "--key", "topup:2026-12")
    from sqlalchemy import update

    from mailadmin.store.models import Suspension

    with store_session(db_url) as s:  # dave's suspension is lifted: he is active now
        s.execute(update(Suspension).values(lifted_at=Suspension.started_at, lifted_by="test"))
    before = _state(cli)
    r = cli("credits", "add", "--package", "gold", "30", "--reason", "monthly", "--key", "topup:2026-12", "-o", "json")
    assert r.exit_code == 5, r
    assert {f["id"] for f in r.json()["failed"]} == {"alice@example.com", "bob@example.com"}
    assert "package gold: alice@example.com: key 'topup:2026-12:" in one_line_error(r)
    assert _state(cli) == before
    # the same request again: alice and bob unchanged, dave (active again) paid
    ok = cli("credits", "add", "--package", "gold", "25", "--reason", "monthly", "--key", "topup:2026-12", "-o", "json")
    assert [c["user"] for c in ok.json()["changed"]] == ["dave@example.com"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--package", "free", "5", "--reason", "r", "--key", "k"], 5, "does not have credits enabled"),
        (["--package", "gld", "5", "--reason", "r", "--key", "k"], 3, "did you mean gold"),
        (["--package", "gold", "5", "--reason", "r"], 2, "needs --key"),
        (["--package", "gold", "--reason", "r", "--key", "k"], 2, "missing AMOUNT"),
        (["--package", "gold", "alice@example.com", "5", "--reason", "r", "--key", "k"], 2, "only AMOUNT"),
        (["--package", "gold", "0", "--reason", "r", "--key", "k"], 2, "greater than zero"),
        (["--package", "gold", "1.00001", "--reason", "r", "--key", "k"], 2, "at most 4 decimals"),
        (["--package", "gold", "5", "--key", "k"], 2, "reason is required"),
        (["--package", "gold", "5", "--reason", "r", "--key", "x" * 201], 2, "printable ASCII"),
    ],
)
def test_package_top_up_bad_input(cli, clients, args, code, needle):
    before = _state(cli)
    r = cli("credits", "add", *args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert _state(cli) == before


def test_package_top_up_with_force_on_a_package_without_credits(cli, clients):
    r = cli("credits", "add", "--package", "free", "5", "--reason", "trial", "--key", "trial", "--force")
    assert r.exit_code == 0, r
    assert balance(cli, "carol@example.com") == "5.0000"
    [row] = cli("audit", "list", "--target", "user:carol@example.com", "-o", "json").json()
    assert row["after"]["forced"] == ["credits_disabled"]


def test_a_progress_bar_only_on_a_terminal(cli_env, clients, tmp_path):
    """On a terminal stderr shows progress, then the summary; off one (every test above) only the summary."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.conftest import REPO

    path = write(tmp_path, HEADER + "alice@example.com,1,r,k\nbob@example.com,2,r,k\n")
    master, slave = pty.openpty()
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO), "TERM": "xterm"}
    env.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "mailadmin", "credits", "add", "--from-file", path],
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert proc.stdout.read() == b""
    text = seen.decode("utf-8", "replace")
    assert "2/2" in text and "applied 2 top-ups" in text
