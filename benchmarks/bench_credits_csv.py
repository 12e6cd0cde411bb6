"""100,000 top-ups from a CSV file against a plain sqlite3 script writing the same rows.

    python benchmarks/bench_credits_csv.py [--rows 100000] [--runs 3]

The store holds --rows accounts (one owner each, on a package with credits). The file tops each
of them up once, with a key. Timed, each on a fresh copy of the same store, as subprocesses:
- floor: a plain sqlite3 script doing the same job in one transaction: read the CSV, resolve the
  emails, compute balances, insert the same ledger rows, update the balances, insert the same
  hash-chained audit rows;
- `mailadmin credits add --from-file FILE.csv` (goal: at most 3x the floor);
- the same command run a second time on the result (every row already applied: a no-op).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import REPO, mailadmin_cmd

sys.path.insert(0, str(REPO))

# The floor: only the standard library. Same rows as mailadmin writes, in one transaction.
FLOOR = r'''
import csv, hashlib, json, sqlite3, sys
from datetime import datetime, timezone
from decimal import Decimal

db, path, actor = sys.argv[1], sys.argv[2], "bench"

def units(text):
    whole, _, frac = text.strip().partition(".")
    return int(whole) * 10000 + int((frac or "0").ljust(4, "0"))

def fmt(u):
    return str((Decimal(u).scaleb(-4)).quantize(Decimal("0.0001")))

conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = NORMAL")
conn.execute("BEGIN IMMEDIATE")
with open(path, encoding="utf-8-sig", newline="") as f:
    reader = csv.reader(f)
    next(reader)
    rows = [(r[0].strip().lower(), units(r[1]), r[2].strip(), r[3].strip() or None) for r in reader]
emails = list({r[0] for r in rows})
who = {}
for i in range(0, len(emails), 5000):
    chunk = emails[i:i + 5000]
    q = "SELECT u.email, u.account_id, a.credit_balance FROM user u JOIN account a ON a.id = u.account_id WHERE u.email IN (%s)" % ",".join("?" * len(chunk))
    for email, aid, bal in conn.execute(q, chunk):
        who[email] = (aid, bal)
now = datetime.now(timezone.utc)
stamp = now.replace(tzinfo=None).isoformat(sep=" ")
balances, ledger, audit = {}, [], []
head = conn.execute("SELECT last_id, last_hash, count FROM audit_head WHERE id = 1").fetchone()
last_id, last_hash, count = head
for email, amount, reason, key in rows:
    aid, bal = who[email]
    old = balances.get(aid, bal)
    new = balances[aid] = old + amount
    ledger.append((aid, "topup", amount, new, reason, actor, stamp, key))
    before = json.dumps({"balance": fmt(old)}, sort_keys=True, separators=(",", ":"))
    after = json.dumps({"account_id": aid, "amount": fmt(amount), "balance": fmt(new), "key": key, "kind": "topup",
                        "reason": reason}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    last_id += 1
    payload = json.dumps([last_id, last_hash, now.isoformat(timespec="microseconds"), actor, "credits.topup",
                          "user:" + email, before, after], separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(payload.encode()).hexdigest()
    audit.append((last_id, stamp, actor, "credits.topup", "user:" + email, before, after, last_hash, digest))
    last_hash = digest
conn.executemany("INSERT INTO credit_entry (account_id, kind, amount, balance_after, reason, actor, created_at, idempotency_key) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ledger)
conn.executemany("UPDATE account SET credit_balance = ? WHERE id = ?", [(b, a) for a, b in balances.items()])
conn.executemany('INSERT INTO audit_entry (id, at, actor, action, target, before, after, prev_hash, hash) '
                 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', audit)
conn.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, count = ? WHERE id = 1", (last_id, last_hash, count + len(audit)))
conn.execute("COMMIT")
'''


def build_store(path: Path, n: int) -> None:
    """An initialised store with n owners on one package with credits enabled (bulk inserts)."""
    from sqlalchemy import insert, select

    from mailadmin.operation import Actor
    from mailadmin.services import setup
    from mailadmin.store import open_store
    from mailadmin.store.models import Account, User
    from mailadmin.timeutil import utcnow
    from tests.factories import make_package

    store = open_store(str(path), check_schema=False, create=True)
    setup.init(store, Actor.operator("bench"), utcnow)
    with store.write() as s:
        package = make_package(s, "monthly", credits_enabled=True)
        now = utcnow()
        s.execute(insert(Account), [{"id": i + 1, "package_id": package.id, "credit_balance": 0, "created_at": now} for i in range(n)])
        s.execute(insert(User), [{"email": f"client{i:06d}@example.com", "name": "", "account_id": i + 1, "is_owner": True,
                                  "status": "active", "created_at": now} for i in range(n)])
        assert s.execute(select(User.id).limit(1)).first()
    store.dispose()


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["user", "amount", "reason", "key"])
        for i in range(n):
            w.writerow([f"client{i:06d}@example.com", f"{10 + i % 7}.{i % 10000:04d}", "monthly plan 2026-12", "topup:2026-12"])


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
    return elapsed


def figures(quick: bool = False, *, rows: int | None = None, runs: int | None = None) -> list:
    """Top-ups from a CSV file against the plain sqlite3 floor (goal 1.5x, raised in issue 12)."""
    from _timing import Figure

    rows, runs = rows or (10_000 if quick else 100_000), runs or (1 if quick else 3)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        template, data = tmp / "template.db", tmp / "topups.csv"
        build_store(template, rows)
        write_csv(data, rows)
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "MAILADMIN_CONFIG": str(tmp / "config.toml")}
        floor, tool, rerun = [], [], []
        for _ in range(runs):
            for label in ("floor", "tool"):
                db = tmp / f"{label}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
                shutil.copyfile(template, db)
                if label == "floor":
                    floor.append(timed([sys.executable, "-c", FLOOR, str(db), str(data)], env))
                else:
                    cmd = [*mailadmin_cmd(), "credits", "add", "--from-file", str(data), "-q"]
                    tool.append(timed(cmd, {**env, "MAILADMIN_DB": str(db)}))
                    rerun.append(timed(cmd, {**env, "MAILADMIN_DB": str(db)}))
    f = statistics.median(floor)
    return [Figure(f"`credits add --from-file`, {rows:,} top-ups", statistics.median(tool),
                   "plain sqlite3 script, same ledger and audit rows", f, max_ratio=1.5),
            Figure("the same file again (all applied)", statistics.median(rerun), "the same floor", f)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        template, data = tmp / "template.db", tmp / "topups.csv"
        build_store(template, args.rows)
        write_csv(data, args.rows)
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "MAILADMIN_CONFIG": str(tmp / "config.toml")}
        floor, tool, rerun = [], [], []
        for _ in range(args.runs):
            for label, samples in (("floor", floor), ("tool", tool)):
                db = tmp / f"{label}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
                shutil.copyfile(template, db)
                if label == "floor":
                    samples.append(timed([sys.executable, "-c", FLOOR, str(db), str(data)], env))
                else:
                    cmd = [*mailadmin_cmd(), "credits", "add", "--from-file", str(data), "-q"]
                    samples.append(timed(cmd, {**env, "MAILADMIN_DB": str(db)}))
                    rerun.append(timed(cmd, {**env, "MAILADMIN_DB": str(db)}))
        verify = subprocess.run([*mailadmin_cmd(), "credits", "verify"], env={**env, "MAILADMIN_DB": str(tmp / "tool.db")},
                                capture_output=True, text=True)
        f, t, r = statistics.median(floor), statistics.median(tool), statistics.median(rerun)
        print(f"{args.rows} top-ups from a CSV file, SQLite, median of {args.runs} runs (each on a fresh copy of the store)")
        print(f"{'run':58} {'median s':>9} {'min s':>7} {'ratio':>7}")
        print(f"{'plain sqlite3 script, same ledger and audit rows (floor)':58} {f:9.3f} {min(floor):7.3f} {'floor':>7}")
        print(f"{'mailadmin credits add --from-file FILE.csv':58} {t:9.3f} {min(tool):7.3f} {t / f:6.2f}x")
        print(f"{'the same again (every row already applied)':58} {r:9.3f} {min(rerun):7.3f} {r / f:6.2f}x")
        print(f"credits verify: exit {verify.returncode}, {verify.stderr.strip()}")


if __name__ == "__main__":
    main()
