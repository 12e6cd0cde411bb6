"""`users usage --over 90` and `users record` on a 100,000-account store with a month of usage rows,
against the cost of importing their libraries.

    python benchmarks/bench_usage.py [--accounts 100000] [--runs 15]

The floor is `python -c "import typer, sqlmodel"`, measured in the same run. Goals (issue 11):
`users usage --over 90` <= 2x, one `users record` <= 1.2x. The data set: every account on one
package (hourly 100, daily 1000, monthly 20000, contacts 5000), with a month row, 30 day rows and
the last 24 hour rows (55 usage rows an account, 5.5 million for 100,000 accounts) and a reported
contacts count, inserted with plain sqlite3 (fast). The clock is fixed (MAILADMIN_TEST_NOW) so the
rows are current. About 1 account in 20 is over 90 % of some limit.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bulk_suspend import REPO, build_store_in_child  # noqa: E402
from bench_users_show import interleaved_medians  # noqa: E402

NOW = datetime(2026, 11, 26, 14, 30, tzinfo=timezone.utc)
LIMITS = {"hourly": 100, "daily": 1000, "monthly": 20000, "contacts": 5000}


def stamp(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (UTCDateTime drops the zone)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def add_usage(db: str, accounts: int) -> int:
    """The limits and a month of usage rows, with plain sqlite3 executemany. Returns the row count."""
    rnd = random.Random(11)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    pid = conn.execute("SELECT id FROM package WHERE name = 'bench'").fetchone()[0]
    conn.executemany("DELETE FROM package_limit WHERE package_id = ? AND name = ?", [(pid, n) for n in LIMITS])
    conn.executemany("INSERT INTO package_limit (package_id, name, value) VALUES (?, ?, ?)", [(pid, n, v) for n, v in LIMITS.items()])
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    month = day.replace(day=1)
    hours = [stamp(hour - timedelta(hours=h)) for h in range(24)]
    days = [stamp(day - timedelta(days=d)) for d in range(30)]
    rows = 0
    ids = [r[0] for r in conn.execute("SELECT id FROM account ORDER BY id")]
    for start in range(0, len(ids), 5000):
        batch = []
        resources = []
        for aid in ids[start:start + 5000]:
            hot = rnd.random() < 0.05  # a few accounts near or past a limit
            per_hour = rnd.randint(85, 120) if hot else rnd.randint(0, 30)
            for h, when in enumerate(hours):
                batch.append((aid, "hour", when, per_hour if h == 0 else rnd.randint(0, 30), 0, 0))
            for when in days:
                batch.append((aid, "day", when, rnd.randint(100, 500), rnd.randint(0, 5), 0))
            batch.append((aid, "month", stamp(month), rnd.randint(2000, 15000), rnd.randint(0, 50), 0))
            resources.append((aid, "contacts", rnd.randint(4600, 5200) if hot else rnd.randint(0, 4000), stamp(NOW)))
        conn.executemany("INSERT INTO usage_counter (account_id, span, starts_at, sent, bounced, overuse) VALUES (?, ?, ?, ?, ?, ?)",
                         batch)
        conn.executemany("INSERT INTO resource_usage (account_id, name, value, reported_at) VALUES (?, ?, ?, ?)", resources)
        rows += len(batch)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return rows


def figures(quick: bool = False, *, accounts: int | None = None, runs: int | None = None) -> list:
    """`users usage --over 90` (goal 2x) and one `users record` (goal 1.2x) for run_all.py."""
    from _timing import Figure

    accounts, runs = accounts or (10_000 if quick else 100_000), runs or (5 if quick else 15)
    work = Path(tempfile.mkdtemp(prefix="bench_usage_"))
    try:
        db = str(work / "store.db")
        emails = build_store_in_child(db, accounts)
        add_usage(db, accounts)
        target = emails[len(emails) // 2]
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE usage_counter SET sent = 0 WHERE span = 'hour' AND account_id = "
                         "(SELECT account_id FROM user WHERE email = ?)", (target,))
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml"), "MAILADMIN_TEST_NOW": NOW.isoformat(),
               "MAILADMIN_BUSY_TIMEOUT_MS": "60000"}
        ma = [sys.executable, "-m", "mailadmin"]
        commands = {"floor": [sys.executable, "-c", "import typer, sqlmodel"],
                    "over": [*ma, "users", "usage", "--over", "90", "-o", "json"],
                    "record": [*ma, "users", "record", target, "--sent", "1", "-q"]}
        interleaved_medians(commands, env, 1)
        m = interleaved_medians(commands, env, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor = "`import typer, sqlmodel`"
    return [Figure(f"`users usage --over 90 -o json`, {accounts:,} accounts", m["over"], floor, m["floor"], max_ratio=2.0),
            Figure("`users record EMAIL --sent 1`", m["record"], floor, m["floor"], max_ratio=1.2)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_usage_"))
    try:
        db = str(work / "store.db")
        started = time.perf_counter()
        emails = build_store_in_child(db, args.accounts)
        rows = add_usage(db, args.accounts)
        target = emails[len(emails) // 2]
        with sqlite3.connect(db) as conn:  # the account timed sending: room in its hour for every run
            conn.execute("UPDATE usage_counter SET sent = 0 WHERE span = 'hour' AND account_id = "
                         "(SELECT account_id FROM user WHERE email = ?)", (target,))
        print(f"built {args.accounts} accounts and {rows} usage rows in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml"), "MAILADMIN_TEST_NOW": NOW.isoformat(),
               "MAILADMIN_BUSY_TIMEOUT_MS": "60000"}
        mailadmin = [sys.executable, "-m", "mailadmin"]
        floor_name = "floor: python -c 'import typer, sqlmodel'"
        commands = {
            floor_name: [sys.executable, "-c", "import typer, sqlmodel"],
            "users usage --over 90 -o json": [*mailadmin, "users", "usage", "--over", "90", "-o", "json"],
            "users usage --over 90 (table)": [*mailadmin, "users", "usage", "--over", "90"],
            "users record EMAIL --sent 1": [*mailadmin, "users", "record", target, "--sent", "1", "-q"],
            "users record EMAIL --sent 1 -o json": [*mailadmin, "users", "record", target, "--sent", "1", "-o", "json"],
            "users usage EMAIL -o json": [*mailadmin, "users", "usage", target, "-o", "json"],
        }
        interleaved_medians(commands, env, 1)  # warm the page cache
        medians = interleaved_medians(commands, env, args.runs)
        floor = medians[floor_name]
        goals = {"users usage --over 90 -o json": 2.0, "users usage --over 90 (table)": 2.0, "users record EMAIL --sent 1": 1.2,
                 "users record EMAIL --sent 1 -o json": 1.2}
        width = max(len(name) for name in medians) + 2
        print(f"{args.accounts} accounts (SQLite), median of {args.runs} interleaved runs")
        print(f"{'run':<{width}} {'seconds':>8} {'ratio':>7} {'goal':>6}")
        for name, seconds in medians.items():
            goal = f"<= {goals[name]}x" if name in goals else ""
            print(f"{name:<{width}} {seconds:>8.3f} {seconds / floor:>6.2f}x {goal:>6}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
