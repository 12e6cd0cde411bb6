"""Every figure of the performance suite in one command, and one table.

    python benchmarks/run_all.py [--quick] [--only NAME,NAME] [--list] [--out FILE]

Each benchmark script exposes `figures(quick=False) -> list[Figure]` (benchmarks/_timing.py):
what it timed, the floor measured in the same run, and the goal. This runs them one after the
other and prints one markdown table (figure, floor, mailadmin, ratio, goal, met?) with the
machine it ran on, ready for the README. `--quick` uses data sets about a tenth of the size
(a smoke check in a few minutes; its figures are not the goals' figures). A script that exposes
no `figures()` yet is run as it is and its own output is printed under the table.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import REPO, Figure, print_figures  # noqa: E402

# in the order of the issues that set their goals
BENCHMARKS = ["bench_startup", "bench_users_show", "bench_users_can", "bench_bulk_suspend", "bench_credits_csv",
              "bench_credits_concurrent", "bench_usage", "bench_import", "bench_batch", "bench_apply"]
# how to run, quick, a script that has no figures() yet (its own options)
QUICK_ARGS = {"bench_import": ["--small", "10000", "--large", "20000"], "bench_apply": ["--accounts", "200", "--runs", "5"]}


def available() -> list[str]:
    """The benchmarks present in this tree (bench_import, bench_apply: when their issue has landed)."""
    return [name for name in BENCHMARKS if (HERE / f"{name}.py").exists()]


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = next(int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        memory = f", {mem} GB RAM"
    except (OSError, StopIteration, ValueError):
        memory = ""
    load = ", load %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"{model or platform.processor() or platform.machine()}, {cpus} cores{memory}{load}; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}")


def run_one(name: str, quick: bool) -> tuple[list[Figure], str]:
    """(figures, text printed by a script without figures())."""
    module = importlib.import_module(name)
    if hasattr(module, "figures"):
        return module.figures(quick=quick), ""
    if name == "bench_import":  # it prints its figures as JSON
        return _import_figures(quick), ""
    args = QUICK_ARGS.get(name, []) if quick else []
    proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return [], f"--- {name} {' '.join(args)} (exit {proc.returncode}) ---\n{proc.stdout}{proc.stderr[-2000:]}"


def _import_figures(quick: bool) -> list[Figure]:
    import json

    small, large = (10_000, 20_000) if quick else (10_000, 100_000)  # 10,000: the goal's own size
    proc = subprocess.run([sys.executable, str(HERE / "bench_import.py"), "--json", "--small", str(small), "--large", str(large)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        Figure(f"`users import`, {small:,} accounts (including start-up)", got[f"import_{small}_s"],
               "plain sqlite3 script, same rows", got[f"floor_{small}_s"], max_seconds=5.0 * small / 10_000,
               note=f"{got[f'peak_mb_{small}']:.0f} MB peak"),
        Figure(f"`users import`, {large:,} accounts", got[f"import_{large}_s"], "plain sqlite3 script, same rows",
               got[f"floor_{large}_s"], max_ratio=3.0, note=f"{got[f'peak_mb_{large}']:.0f} MB peak"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data sets: a smoke check in a few minutes")
    parser.add_argument("--only", help="comma-separated benchmark names (bench_batch,bench_startup)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(unknown)}; see --list")
        names = [n for n in names if n in wanted]
    figures: list[Figure] = []
    extra: list[str] = []
    started = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"running {name}{' --quick' if args.quick else ''} ...", file=sys.stderr, flush=True)
        try:
            got, text = run_one(name, args.quick)
        except (Exception, SystemExit) as exc:  # one broken benchmark must not lose the others' figures
            extra.append(f"--- {name} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
            continue
        figures.extend(got)
        if text:
            extra.append(text)
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    header = (f"mailadmin performance suite ({'quick: smaller data sets' if args.quick else 'full'}), "
              f"{time.strftime('%Y-%m-%d')}, {time.perf_counter() - started:.0f} s\nmachine: {machine()}\n\n")
    sys.stdout.write(header)
    print_figures(figures)
    for text in extra:
        print("\n" + text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(header)
            print_figures(figures, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
