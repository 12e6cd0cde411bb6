"""`mailadmin batch` of many `users can` and `users record` lines, in one process.

    python benchmarks/bench_batch.py [--lines 10000] [--runs 1] [--profile]

Goals (issue 12): 10,000 `users can` lines under 1.5 s after start-up, 10,000 `users record` lines
under 5 s. "After start-up": the time of the same batch with one line (the process, its imports,
the first line's store, schema check and statement compilation) is measured in the same run and
taken off. The store: one account (owner and a viewer member) on a package without limits, so
every `record` line succeeds; `can` asks about the member. With fewer --lines (run_all --quick)
the goals scale with the number of lines. --profile prints cProfile's top costs of each batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import REPO, Figure, print_figures  # noqa: E402

OWNER, MEMBER = "owner@bench.example", "member@bench.example"
LINES = {
    "users can": f"users can {MEMBER} campaigns.view\n",
    "users record": f"users record {OWNER} --sent 1 -q\n",
}
GOALS = {"users can": 1.5, "users record": 5.0}  # seconds for 10,000 lines after start-up


def build(env: dict[str, str]) -> None:
    run = [sys.executable, "-m", "mailadmin"]
    for args in (["init"], ["packages", "create", "pro", "--role", "admin"],
                 ["users", "create", OWNER, "--package", "pro"], ["users", "invite", OWNER, MEMBER, "--role", "viewer"]):
        subprocess.run([*run, *args], env=env, check=True, capture_output=True)


def timed_batch(path: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mailadmin", "batch", str(path)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"batch {path.name} failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
    return elapsed


def profile(path: Path, env: dict[str, str], top: int = 25) -> str:
    out = path.with_suffix(".prof")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "mailadmin", "batch", str(path)], env=env,
                   stdout=subprocess.DEVNULL, check=True)
    code = ("import pstats, sys; p = pstats.Stats(sys.argv[1]); p.sort_stats('tottime').print_stats(int(sys.argv[2]))")
    return subprocess.run([sys.executable, "-c", code, str(out), str(top)], capture_output=True, text=True).stdout


def figures(quick: bool = False, *, lines: int | None = None, runs: int | None = None,
            show_profile: bool = False) -> list[Figure]:
    lines = lines or (1_000 if quick else 10_000)
    runs = runs or 1  # 10,000 lines take minutes while the goal is missed by far; --runs for more
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        work = Path(tmp)
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "MAILADMIN_DB": str(work / "store.db"),
               "MAILADMIN_CONFIG": str(work / "config.toml")}
        build(env)
        for name, line in LINES.items():
            one, many = work / f"{name.replace(' ', '_')}_1.txt", work / f"{name.replace(' ', '_')}_{lines}.txt"
            one.write_text(line)
            many.write_text(line * lines)
            start_up = statistics.median(timed_batch(one, env) for _ in range(3))  # the first warms the page cache
            total = statistics.median(timed_batch(many, env) for _ in range(runs))
            after = total - start_up
            goal = GOALS[name] * lines / 10_000
            rows.append(Figure(f"batch: {lines:,} `{name}` lines after start-up", after,
                               "the same batch of 1 line (start-up)", start_up, max_seconds=goal,
                               note=f"{after / lines * 1e6:.0f} us a line; whole run {total:.2f} s"))
            if show_profile:
                print(f"--- cProfile, batch of {lines} `{name}` lines, by own time ---")
                print(profile(many, env))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top costs of each batch")
    args = parser.parse_args()
    print_figures(figures(lines=args.lines, runs=args.runs, show_profile=args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
