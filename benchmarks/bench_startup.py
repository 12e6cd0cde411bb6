"""Start-up cost of mailadmin against the imports it cannot avoid.

    python benchmarks/bench_startup.py [--runs N]

Floors, measured in the same run: `python -c "import typer"` for commands that need no store
(--version, --help), `python -c "import typer, sqlmodel"` for a command that reads the store
(`roles list` on a fresh SQLite store), and `mailadmin --version` for a Tab press (the goal of
issue 8: completing a user's email costs at most 1.2x printing the version).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _timing import mailadmin_cmd, report, time_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {"MAILADMIN_DB": os.path.join(tmp, "bench.db"), "MAILADMIN_CONFIG": os.path.join(tmp, "config.toml")}
        time_command([*mailadmin_cmd(), "init", "--sample"], runs=1, warmup=0, env=env)
        ma = mailadmin_cmd()
        typer_floor = time_command([py, "-c", "import typer"], runs=args.runs, env=env)
        version = time_command([*ma, "--version"], runs=args.runs, env=env)
        tab = {**env, "_MAILADMIN_COMPLETE": "complete_bash", "COMP_WORDS": "mailadmin users show al", "COMP_CWORD": "3"}
        store_floor = time_command([py, "-c", "import typer, sqlmodel"], runs=args.runs, env=env)
        rows = [
            ('python -c "import typer"', typer_floor, None),
            ('python -c "import typer, sqlmodel"', store_floor, None),
            ("mailadmin --version", version, "typer"),
            ("Tab: mailadmin users show al<Tab>", time_command(ma, runs=args.runs, env=tab), "version"),
            ("mailadmin --help", time_command([*ma, "--help"], runs=args.runs, env=env), "typer"),
            ("mailadmin roles list", time_command([*ma, "roles", "list"], runs=args.runs, env=env), "store"),
            ("mailadmin roles list -o json", time_command([*ma, "roles", "list", "-o", "json"], runs=args.runs, env=env), "store"),
        ]
        report(rows, {"typer": typer_floor["median"], "store": store_floor["median"], "version": version["median"]})


if __name__ == "__main__":
    main()
