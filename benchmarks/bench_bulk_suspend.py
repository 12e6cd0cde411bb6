"""Suspending 100,000 accounts read from stdin, against a floor measured in the same run.

    python benchmarks/bench_bulk_suspend.py [--accounts 100000] [--db postgresql+psycopg://...]

The floor is a plain sqlite3 script (no SQLAlchemy, no mailadmin) doing the same work in one
transaction: resolve the emails in chunks, INSERT the suspension rows, INSERT the hash-chained
audit entries and move the chain head. mailadmin runs the canonical pipeline step
`mailadmin users suspend - --reason ... --yes` as a subprocess with the ids on stdin.
Goal: ratio <= 3x and the child's peak memory under 200 MB (ru_maxrss from wait4).
With --db a PostgreSQL URL, mailadmin runs against it (no floor: the floor is sqlite3).
"""

from __future__ import annotations

import argparse
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
import hashlib, json, sqlite3, sys
from datetime import datetime, timezone
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL"); db.execute("PRAGMA foreign_keys=ON")
db.execute("BEGIN IMMEDIATE")
now = datetime.now(timezone.utc)
stamp = now.replace(tzinfo=None).isoformat(sep=" ")
last_id, last_hash, count = db.execute("SELECT last_id, last_hash, count FROM audit_head WHERE id = 1").fetchone()
after = json.dumps({"code": "manual", "reason": "bench", "status": "suspended", "until": None}, sort_keys=True, separators=(",", ":"))
before = json.dumps({"status": "active"}, sort_keys=True, separators=(",", ":"))
def chunks():
    buf = []
    for line in sys.stdin:
        line = line.strip()
        if line:
            buf.append(line.lower())
        if len(buf) == 5000:
            yield buf; buf = []
    if buf:
        yield buf
written = 0
for buf in chunks():
    marks = ",".join("?" * len(buf))
    rows = db.execute(f'SELECT id, email FROM "user" WHERE email IN ({marks})', buf).fetchall()
    db.executemany("INSERT INTO suspension (user_id, code, reason, actor, started_at) VALUES (?, 'manual', 'bench', 'bench', ?)",
                   [(uid, stamp) for uid, _ in rows])
    audit = []
    for uid, email in rows:
        last_id += 1
        payload = json.dumps([last_id, last_hash, now.isoformat(timespec="microseconds"), "bench", "user.suspend",
                              "user:" + email, before, after], separators=(",", ":"), ensure_ascii=False)
        h = hashlib.sha256(payload.encode()).hexdigest()
        audit.append((last_id, stamp, "bench", "user.suspend", "user:" + email, before, after, last_hash, h))
        last_hash = h
    db.executemany("INSERT INTO audit_entry (id, at, actor, action, target, before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)", audit)
    written += len(rows)
db.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, count = ? WHERE id = 1", (last_id, last_hash, count + written))
db.execute("COMMIT")
print(written)
'''


def bench_emails(accounts: int) -> list[str]:
    return [f"user{i:06d}@bench.example" for i in range(accounts)]


def build_store_in_child(url: str, accounts: int) -> list[str]:
    """Build the store in a child process, so this process stays small: a child forked from a
    big parent would report the parent's pages in its ru_maxrss."""
    subprocess.run([sys.executable, __file__, "--build-only", url, str(accounts)], check=True)
    return bench_emails(accounts)


def build_store(url: str, accounts: int) -> list[str]:
    """An initialised store with `accounts` owners on one package, inserted set-based. Returns the emails."""
    from mailadmin.operation import Actor, Operation
    from mailadmin.services import packages, setup, users
    from mailadmin.store import open_store
    from mailadmin.timeutil import utcnow

    actor = Actor.operator("bench")
    store = open_store(url, check_schema=False, create=True)
    setup.init(store, actor, utcnow)
    emails = bench_emails(accounts)
    with store.write() as session:
        op = Operation(session, actor, utcnow())
        pkg = packages.create(op, "bench", packages.Settings(role="regular", limits={"daily": 1000}))
        from sqlalchemy import select

        from mailadmin.store.models import Package

        pid = session.execute(select(Package.id).where(Package.name == pkg.name)).scalar_one()
        users.insert_owners(op, [{"email": e, "name": f"User {i}", "package_id": pid} for i, e in enumerate(emails)])
    store.dispose()
    return emails


def timed_child(cmd: list[str], stdin_text: str, env: dict[str, str]) -> tuple[float, float, str, str, int]:
    """(seconds, peak MB, stdout, stderr, exit code) of one child process."""
    with tempfile.TemporaryFile("w+") as fin, tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        fin.write(stdin_text)
        fin.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=ferr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        return seconds, usage.ru_maxrss / 1024, fout.read(), ferr.read(), proc.returncode


def count_standing(url: str) -> int:  # in a child too, for the same reason
    from sqlalchemy import func, select

    from mailadmin.store import open_store
    from mailadmin.store.models import Suspension

    store = open_store(url)
    with store.read() as session:
        n = session.execute(select(func.count()).select_from(Suspension).where(Suspension.lifted_at.is_(None))).scalar_one()
    store.dispose()
    return n


def figures(quick: bool = False, *, accounts: int | None = None) -> list:
    """Suspending ACCOUNTS from stdin against the plain sqlite3 floor (goal 2x, raised in issue 12)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _timing import Figure

    accounts = accounts or (10_000 if quick else 100_000)
    work = Path(tempfile.mkdtemp(prefix="bench_suspend_"))
    try:
        template = str(work / "template.db")
        emails = build_store_in_child(template, accounts)
        ids = "".join(f"{e}\n" for e in emails)
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
        floor_db, tool_db = str(work / "floor.db"), str(work / "tool.db")
        shutil.copyfile(template, floor_db)
        shutil.copyfile(template, tool_db)
        floor_s, _mb, out, err, code = timed_child([sys.executable, "-c", FLOOR, floor_db], ids, env)
        assert code == 0 and int(out) == accounts, (code, out, err)
        tool_s, tool_mb, out, err, code = timed_child(
            [sys.executable, "-m", "mailadmin", "--db", tool_db, "users", "suspend", "-", "--reason", "bench", "--yes"], ids, env)
        assert code == 0, (code, err)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [Figure(f"`users suspend - --yes`, {accounts:,} accounts", tool_s, "plain sqlite3 script, same rows", floor_s,
                   max_ratio=2.0, note=f"{tool_mb:.0f} MB peak")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", help="a postgresql+psycopg:// URL of an EMPTY database to run mailadmin against")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_suspend_"))
    try:
        t0 = time.perf_counter()
        template = str(work / "template.db")
        emails = build_store_in_child(args.db or template, args.accounts)
        build = time.perf_counter() - t0
        ids = "".join(f"{e}\n" for e in emails)
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
        rows = []
        if not args.db:
            floor_db, tool_db = str(work / "floor.db"), str(work / "tool.db")
            shutil.copyfile(template, floor_db)
            shutil.copyfile(template, tool_db)
            floor_s, floor_mb, out, err, code = timed_child([sys.executable, "-c", FLOOR, floor_db], ids, env)
            assert code == 0 and int(out) == args.accounts, (code, out, err)
            rows.append(("floor: plain sqlite3 script", floor_s, floor_mb))
            url = tool_db
        else:
            url = args.db
        tool_s, tool_mb, out, err, code = timed_child(
            [sys.executable, "-m", "mailadmin", "--db", url, "users", "suspend", "-", "--reason", "bench", "--yes"], ids, env)
        assert code == 0, (code, err)
        counted = subprocess.run([sys.executable, __file__, "--count-only", url], capture_output=True, text=True, check=True).stdout
        assert int(counted) == args.accounts, f"{counted} of {args.accounts} accounts were suspended"
        rows.append(("mailadmin users suspend - --yes", tool_s, tool_mb))

        print(f"{args.accounts} accounts ({'PostgreSQL' if args.db else 'SQLite'}); store built set-based in {build:.1f} s")
        print(f"{'run':<34} {'seconds':>8} {'peak MB':>8}")
        for name, seconds, mb in rows:
            print(f"{name:<34} {seconds:>8.2f} {mb:>8.1f}")
        if not args.db:
            ratio = tool_s / rows[0][1]
            print(f"ratio {ratio:.2f}x (goal <= 3x); peak {tool_mb:.0f} MB (goal < 200 MB)")
        print(f"mailadmin said: {err.strip()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build-only"]:
        build_store(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--count-only"]:
        print(count_standing(sys.argv[2]))
    else:
        sys.exit(main())
