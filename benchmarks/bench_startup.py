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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import REPO, Figure, mailadmin_cmd, report, time_command


# The floor of `--help`: a minimal Typer app with the same groups and top-level commands, the same
# global options and help settings, and nothing else (issue 12: `--help` at most 1.15x of it).
MINIMAL_APP = r"""
import sys
from typing import Optional
import typer
app = typer.Typer(name="mailadmin", help="Administer an email-sending platform.", no_args_is_help=True,
                  add_completion=False, rich_markup_mode="rich", pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
@app.callback()
def root(db: Optional[str] = typer.Option(None, "--db", help="SQLite file or URL."),
         as_user: Optional[str] = typer.Option(None, "--as", help="Run as this client user."),
         version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    "Administer an email-sending platform."
for name in sys.argv[1].split(","):
    app.add_typer(typer.Typer(help=f"The {name} group."), name=name)
for name in sys.argv[2].split(","):
    app.command(name)(lambda: None)
app(sys.argv[3:], prog_name="mailadmin")
"""


def minimal_app_cmd() -> list[str]:
    sys.path.insert(0, str(REPO))
    from mailadmin.cli.app import LAZY_COMMANDS, LAZY_GROUPS

    return [sys.executable, "-c", MINIMAL_APP, ",".join(LAZY_GROUPS), ",".join(["init", *LAZY_COMMANDS]), "--help"]


def figures(quick: bool = False, *, runs: int | None = None) -> list[Figure]:
    """Start-up figures for run_all.py, timed interleaved (each round runs every command once)."""
    from bench_users_show import interleaved_medians

    runs = runs or (5 if quick else 15)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "MAILADMIN_DB": os.path.join(tmp, "bench.db"),
               "MAILADMIN_CONFIG": os.path.join(tmp, "config.toml")}
        time_command([*mailadmin_cmd(), "init", "--sample"], runs=1, warmup=0, env=env)
        ma = mailadmin_cmd()
        commands = {"typer": [py, "-c", "import typer"], "store": [py, "-c", "import typer, sqlmodel"],
                    "minimal": minimal_app_cmd(), "version": [*ma, "--version"], "help": [*ma, "--help"],
                    "roles": [*ma, "roles", "list", "-o", "json"]}
        interleaved_medians(commands, env, 1)
        m = interleaved_medians(commands, env, runs)
        tab_env = {**env, "_MAILADMIN_COMPLETE": "complete_bash", "COMP_WORDS": "mailadmin users show al", "COMP_CWORD": "3"}
        tab = interleaved_medians({"tab": ma, "version": [*ma, "--version"]}, tab_env, runs)
    return [
        Figure("`mailadmin --version`", m["version"], "`import typer`", m["typer"]),
        Figure("a Tab press, `users show al<Tab>`", tab["tab"], "`mailadmin --version`", tab["version"], max_ratio=1.2),
        Figure("`mailadmin --help`", m["help"], "minimal Typer app, same groups, `--help`", m["minimal"], max_ratio=1.15),
        Figure("`roles list -o json`", m["roles"], "`import typer, sqlmodel`", m["store"]),
    ]


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
