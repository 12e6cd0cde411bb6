"""`users import` of 10,000 and 100,000 accounts from CSV, against a floor measured in the same run.

    python benchmarks/bench_import.py [--small 10000] [--large 100000] [--json] [--profile]

Goals (issue 12): 10,000 accounts in under 5 s including start-up; 100,000 at most 3x the floor.
The floor is a plain sqlite3 script (no SQLAlchemy, no mailadmin) doing the same work in one
transaction: read the CSV with the csv module, INSERT the account and user rows, INSERT the
hash-chained audit entries (one per account) and move the chain head. It does not validate
addresses or look for existing users; mailadmin does both. mailadmin runs as a subprocess,
`mailadmin users import FILE.csv`, on a copy of the same initialised store.
`--profile` runs the large import once more under cProfile and prints the top of the profile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FLOOR = r'''
import csv, hashlib, json, sqlite3, sys
from datetime import datetime, timezone
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL"); db.execute("PRAGMA foreign_keys=ON")
db.execute("BEGIN IMMEDIATE")
now = datetime.now(timezone.utc)
stamp = now.replace(tzinfo=None).isoformat(sep=" ")
package_id = db.execute("SELECT id FROM package WHERE name = 'bench'").fetchone()[0]
last_id, last_hash, count = db.execute("SELECT last_id, last_hash, count FROM audit_head WHERE id = 1").fetchone()
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    next(reader)
    rows = [(email.strip().lower(), name, package) for email, name, package in reader]
account_id = db.execute("SELECT coalesce(max(id), 0) FROM account").fetchone()[0]
user_id = db.execute("SELECT coalesce(max(id), 0) FROM user").fetchone()[0]
accounts, users, audit = [], [], []
for email, name, package in rows:
    account_id += 1; user_id += 1; last_id += 1
    accounts.append((account_id, package_id, 0, stamp))
    users.append((user_id, email, name, account_id, 1, "active", stamp))
    after = json.dumps({"account_id": account_id, "name": name, "package": package, "plan_expires_at": None,
                        "source": "import", "status": "active"}, sort_keys=True, separators=(",", ":"))
    payload = json.dumps([last_id, last_hash, now.isoformat(timespec="microseconds"), "bench", "user.create",
                          "user:" + email, None, after], separators=(",", ":"), ensure_ascii=False)
    h = hashlib.sha256(payload.encode()).hexdigest()
    audit.append((last_id, stamp, "bench", "user.create", "user:" + email, None, after, last_hash, h))
    last_hash = h
db.executemany("INSERT INTO account (id, package_id, credit_balance, created_at) VALUES (?,?,?,?)", accounts)
db.executemany('INSERT INTO "user" (id, email, name, account_id, is_owner, status, created_at) VALUES (?,?,?,?,?,?,?)', users)
db.executemany("INSERT INTO audit_entry (id, at, actor, action, target, before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)", audit)
db.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, count = ? WHERE id = 1", (last_id, last_hash, count + len(rows)))
db.execute("COMMIT")
print(len(rows))
'''


def build_store(url: str) -> None:
    """An initialised store with the package `bench` (run in a child: see bench_bulk_suspend.py)."""
    from mailadmin.operation import Actor, Operation
    from mailadmin.services import packages, setup
    from mailadmin.store import open_store
    from mailadmin.timeutil import utcnow

    actor = Actor.operator("bench")
    store = open_store(url, check_schema=False, create=True)
    setup.init(store, actor, utcnow)
    with store.write() as session:
        packages.create(Operation(session, actor, utcnow()), "bench", packages.Settings(role="regular", limits={"daily": 1000}))
    store.dispose()


def write_csv(path: Path, accounts: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("email,name,package\n")
        f.writelines(f"client{i:06d}@bench{i % 97}.example,Client {i},bench\n" for i in range(accounts))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak MB, stderr) of one child process; a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err[:500]}")
    return seconds, usage.ru_maxrss / 1024, err.strip() or out.strip()


def count_users(url: str) -> int:
    import sqlite3

    with sqlite3.connect(url) as db:
        return db.execute('SELECT count(*) FROM "user"').fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object (for run_all)")
    parser.add_argument("--profile", action="store_true", help="profile the large import in-process with cProfile")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_import_"))
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "MAILADMIN_CONFIG": str(work / "config.toml")}
    figures: dict[str, float] = {}
    try:
        template = str(work / "template.db")
        subprocess.run([sys.executable, __file__, "--build-only", template], check=True)
        for n in sorted({args.small, args.large}):
            csv_path = work / f"clients{n}.csv"
            write_csv(csv_path, n)
            tool_db, floor_db = str(work / f"tool{n}.db"), str(work / f"floor{n}.db")
            shutil.copyfile(template, tool_db)
            shutil.copyfile(template, floor_db)
            floor_s, _floor_mb, _ = timed([sys.executable, "-c", FLOOR, floor_db, str(csv_path)], env)
            tool_s, tool_mb, said = timed([sys.executable, "-m", "mailadmin", "--db", tool_db, "users", "import", str(csv_path)], env)
            assert count_users(tool_db) == n, f"{count_users(tool_db)} of {n} users imported"
            figures[f"import_{n}_s"] = tool_s
            figures[f"floor_{n}_s"] = floor_s
            figures[f"ratio_{n}"] = tool_s / floor_s
            figures[f"peak_mb_{n}"] = tool_mb
            if not args.json:
                print(f"{n:>7} accounts: mailadmin {tool_s:6.2f} s ({tool_mb:.0f} MB peak), floor {floor_s:6.2f} s, "
                      f"ratio {tool_s / floor_s:.2f}x  [{said}]")
        if args.json:
            print(json.dumps(figures))
        else:
            print(f"goals: {args.small} accounts under 5 s ({figures[f'import_{args.small}_s']:.2f} s); "
                  f"{args.large} at most 3x the floor ({figures[f'ratio_{args.large}']:.2f}x)")
        if args.profile:
            profile_db = str(work / "profile.db")
            shutil.copyfile(template, profile_db)
            subprocess.run([sys.executable, "-m", "cProfile", "-s", "cumulative", "-m", "mailadmin", "--db", profile_db,
                            "users", "import", str(work / f"clients{args.large}.csv")], env=env, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build-only"]:
        build_store(sys.argv[2])
    else:
        sys.exit(main())
