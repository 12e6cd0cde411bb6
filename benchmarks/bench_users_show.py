"""`mailadmin users show` on a 100,000-account store, against the cost of importing its libraries.

    python benchmarks/bench_users_show.py [--accounts 100000] [--runs 15]

The floor is `python -c "import typer, sqlmodel"`, measured in the same run: a command that
needs the store cannot start faster than its libraries import. Goal: median ratio <= 1.15x.
Both the table and the JSON form are measured; each figure is the median of --runs runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bulk_suspend import REPO, build_store_in_child  # noqa: E402


def interleaved_medians(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time of each command, the commands taking turns within every round, so a
    busy moment of the machine weighs on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times[name].append(time.perf_counter() - start)
            assert proc.returncode == 0, proc.stderr
    return {name: statistics.median(values) for name, values in times.items()}


def measure_against_floor(commands: dict[str, list[str]], env: dict[str, str], runs: int, title: str) -> None:
    """Warm the page cache, time the commands interleaved, print each median and its ratio to the
    first command (the floor) against the 1.15x goal."""
    interleaved_medians(commands, env, 1)
    medians = interleaved_medians(commands, env, runs)
    floor = next(iter(medians.values()))
    width = max(len(name) for name in medians) + 2
    print(f"{title}, median of {runs} interleaved runs")
    print(f"{'run':<{width}} {'seconds':>8} {'ratio':>7}")
    for name, seconds in medians.items():
        print(f"{name:<{width}} {seconds:>8.3f} {seconds / floor:>6.2f}x")
    print("goal: <= 1.15x")


def figures(quick: bool = False, *, accounts: int | None = None, runs: int | None = None) -> list:
    """`users show` for run_all.py: table and JSON against `import typer, sqlmodel` (goal 1.15x)."""
    from _timing import Figure

    accounts, runs = accounts or (10_000 if quick else 100_000), runs or (5 if quick else 15)
    work = Path(tempfile.mkdtemp(prefix="bench_show_"))
    try:
        db = str(work / "store.db")
        emails = build_store_in_child(db, accounts)
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml")}
        show = [sys.executable, "-m", "mailadmin", "users", "show"]
        commands = {"floor": [sys.executable, "-c", "import typer, sqlmodel"], "email": [*show, emails[len(emails) // 2]],
                    "id": [*show, f"#{accounts // 2}", "-o", "json"]}
        interleaved_medians(commands, env, 1)
        m = interleaved_medians(commands, env, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor = "`import typer, sqlmodel`"
    return [Figure(f"`users show EMAIL`, {accounts:,} accounts", m["email"], floor, m["floor"], max_ratio=1.15),
            Figure(f"`users show #ID -o json`, {accounts:,} accounts", m["id"], floor, m["floor"], max_ratio=1.15)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_show_"))
    try:
        db = str(work / "store.db")
        emails = build_store_in_child(db, args.accounts)
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml")}
        target = emails[len(emails) // 2]
        floor_name = "floor: python -c 'import typer, sqlmodel'"
        show = [sys.executable, "-m", "mailadmin", "users", "show"]
        commands = {
            floor_name: [sys.executable, "-c", "import typer, sqlmodel"],
            "users show EMAIL": [*show, target],
            "users show EMAIL -o json": [*show, target, "-o", "json"],
            "users show #ID -o json": [*show, f"#{args.accounts // 2}", "-o", "json"],
        }
        measure_against_floor(commands, env, args.runs, f"{args.accounts} accounts (SQLite)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
