"""`mailadmin apply --dry-run` of a document with 1,000 accounts, against the cost of importing its libraries.

    python benchmarks/bench_apply.py [--accounts 1000] [--runs 15]

The store holds --accounts owners (a tenth with a limit override and an IP allow-list entry);
the document is its own export, once as is (the plan: nothing to change) and once with 100
accounts' override changed (a plan of 100 changes). The floor is `python -c "import typer,
sqlmodel"`, measured in the same run. Goal (issue 12): under 2x the floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bulk_suspend import REPO, build_store_in_child  # noqa: E402
from bench_users_show import interleaved_medians  # noqa: E402


def add_overrides(url: str, emails: list[str]) -> None:
    """A tenth of the accounts override a limit and allow an address: the document is not all defaults."""
    from sqlalchemy import insert, select

    from mailadmin.store import open_store
    from mailadmin.store.models import AccountIP, AccountLimit, User

    store = open_store(url)
    with store.write() as session:
        ids = dict(session.execute(select(User.email, User.account_id)).all())
        some = [ids[e] for e in emails[::10]]
        session.execute(insert(AccountLimit), [{"account_id": a, "name": "monthly", "value": 5000} for a in some])
        session.execute(insert(AccountIP), [{"account_id": a, "cidr": "192.0.2.0/24"} for a in some])
    store.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_apply_"))
    try:
        db = str(work / "store.db")
        emails = build_store_in_child(db, args.accounts)
        sys.path.insert(0, str(REPO))
        add_overrides(db, emails)
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml")}
        mailadmin = [sys.executable, "-m", "mailadmin"]
        same = work / "same.toml"
        same.write_text(subprocess.run([*mailadmin, "export"], env=env, check=True, capture_output=True, text=True).stdout)
        edited = work / "edited.toml"
        edited.write_text(same.read_text().replace("monthly = 5000", "monthly = 6000"))
        floor_name = "floor: python -c 'import typer, sqlmodel'"
        commands = {
            floor_name: [sys.executable, "-c", "import typer, sqlmodel"],
            "apply --dry-run (nothing to change)": [*mailadmin, "apply", str(same), "--dry-run"],
            f"apply --dry-run ({len(emails[::10])} changes)": [*mailadmin, "apply", str(edited), "--dry-run"],
        }
        interleaved_medians(commands, env, 1)
        medians = interleaved_medians(commands, env, args.runs)
        floor = medians[floor_name]
        width = max(len(n) for n in medians) + 2
        print(f"{args.accounts} accounts (SQLite), median of {args.runs} interleaved runs")
        print(f"{'run':<{width}} {'seconds':>8} {'ratio':>7}")
        for name, seconds in medians.items():
            print(f"{name:<{width}} {seconds:>8.3f} {seconds / floor:>6.2f}x")
        print("goal: < 2x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
