"""16 concurrent writers topping up credits: wall time, against the same work done by one writer.

    python benchmarks/bench_credits_concurrent.py [--db URL] [--processes 16] [--topups 50]

Each writer is a real process running the real CLI entry once per top-up (each top-up its own
transaction, half of the keys shared with another process, as in
tests/cli/test_credits_concurrent.py). The floor is one process doing all the top-ups in a row:
the ratio is what contention costs. Without --db a fresh SQLite file is used; pass a
postgresql+psycopg:// URL of an EMPTY database to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import REPO

sys.path.insert(0, str(REPO))

ACCOUNTS = [f"acct{n}@example.com" for n in range(4)]
DRIVER = r"""
import json, os, sys, time
from typer.main import get_command
from mailadmin.cli.app import app

plans = json.loads(open(sys.argv[1]).read())
command = get_command(app)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
codes = []
for args in plans:
    try:
        command.main(args, prog_name="mailadmin")
    except SystemExit as exc:
        codes.append(exc.code)
if any(codes):
    sys.exit(f"failed: {codes}")
"""


def plan(process: int, topups: int, tag: str) -> list[list[str]]:
    pair, shared = process // 2, topups // 2
    out = []
    for j in range(topups):
        if j < shared:
            user, amount, reason, key = ACCOUNTS[(pair + j) % 4], f"{pair + 1}.{j:04d}", f"pair {pair} run {j}", f"{tag}:s:{pair}:{j}"
        else:
            user, amount, reason, key = ACCOUNTS[(process + j) % 4], "0.0001", f"process {process} run {j}", f"{tag}:o:{process}:{j}"
        out.append(["credits", "add", user, amount, "--reason", reason, "--key", key, "-q"])
    return out


def prepare(db: str) -> None:
    from mailadmin.operation import Actor
    from mailadmin.services import setup
    from mailadmin.store import open_store
    from mailadmin.timeutil import utcnow
    from tests.factories import make_owner, make_package

    store = open_store(db, check_schema=False, create=True)
    setup.init(store, Actor.operator("bench"), utcnow)
    with store.write() as s:
        package = make_package(s, "metered", credits_enabled=True)
        for email in ACCOUNTS:
            make_owner(s, email, package)
    store.dispose()


def run(db: str, tmp: Path, plans: list[list[list[str]]]) -> float:
    env = {**os.environ, "MAILADMIN_DB": db, "NO_COLOR": "1", "PYTHONPATH": str(REPO),
           "MAILADMIN_CONFIG": str(tmp / "config.toml")}
    go = tmp / f"go-{time.monotonic_ns()}"
    procs = []
    for n, p in enumerate(plans):
        path = tmp / f"plan-{go.name}-{n}.json"
        path.write_text(json.dumps(p))
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, str(path), str(go)], env=env, stderr=subprocess.PIPE, text=True))
    time.sleep(1.5)  # imports done; the clock starts when everyone may write
    start = time.perf_counter()
    go.touch()
    for proc in procs:
        _out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a writer failed: {err[:500]}")
    return time.perf_counter() - start


def verify(db: str, tmp: Path) -> str:
    env = {**os.environ, "MAILADMIN_DB": db, "MAILADMIN_CONFIG": str(tmp / "config.toml")}
    proc = subprocess.run([sys.executable, "-m", "mailadmin", "credits", "verify", "-o", "json"], env=env, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    return f"verify ok={data['ok']} entries={data['entries']}"


def figures(quick: bool = False, *, processes: int | None = None, topups: int | None = None) -> list:
    """N concurrent writers against one writer doing the same top-ups in a row (SQLite; no goal)."""
    from _timing import Figure

    n, t = processes or (4 if quick else 16), topups or (10 if quick else 50)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        db = str(tmp / "bench.db")
        prepare(db)
        concurrent = run(db, tmp, [plan(p, t, "c") for p in range(n)])
        serial = run(db, tmp, [[step for p in range(n) for step in plan(p, t, "s")]])
    return [Figure(f"{n} concurrent writers x {t} top-ups (SQLite)", concurrent, "one writer, the same in a row", serial)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="store URL (an empty database); default: a fresh SQLite file")
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--topups", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        db = args.db or str(tmp / "bench.db")
        prepare(db)
        n, t = args.processes, args.topups
        concurrent = run(db, tmp, [plan(p, t, "c") for p in range(n)])
        # the floor: one writer doing the same (distinct) top-ups in a row
        serial_plan = [step for p in range(n) for step in plan(p, t, "s")]
        serial = run(db, tmp, [serial_plan])
        label = "PostgreSQL" if db.startswith("postgresql") else "SQLite"
        print(f"{label}: {n} writers x {t} top-ups ({n * t} CLI invocations, {n // 2 * (t // 2) + n * (t - t // 2)} distinct keys)")
        print(f"{'run':44} {'wall s':>8} {'per top-up ms':>14} {'ratio':>7}")
        print(f"{'one writer, all top-ups in a row (floor)':44} {serial:8.2f} {serial / (n * t) * 1000:14.1f} {'floor':>7}")
        print(f"{f'{n} concurrent writers':44} {concurrent:8.2f} {concurrent / (n * t) * 1000:14.1f} {concurrent / serial:6.2f}x")
        print(verify(db, tmp))


if __name__ == "__main__":
    main()
