"""`mailadmin users can` on a big account, against the cost of importing its libraries.

    python benchmarks/bench_users_can.py [--members 10000] [--domains 500] [--runs 15]

`users can` is the call other programs make (an auth hook asks it per request), so it must cost
no more than starting its libraries: the floor is `python -c "import typer, sqlmodel"`, measured in
the same run, interleaved. Goal: median ratio <= 1.15x. The store holds one account with
--members team members and --domains domains, every member holding a grant on one of them; the
question is about a member in the middle, so a query per member or per grant would show.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bulk_suspend import REPO  # noqa: E402
from bench_users_show import measure_against_floor  # noqa: E402


def build(db: str, members: int, domains: int, env: dict[str, str]) -> tuple[str, str]:
    """The store: init, one owner through the CLI, the team and its grants inserted directly."""
    run = [sys.executable, "-m", "mailadmin"]
    subprocess.run([*run, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*run, "packages", "create", "pro", "--role", "admin"], env=env, check=True, capture_output=True)
    subprocess.run([*run, "users", "create", "owner@bench.example", "--package", "pro"], env=env, check=True, capture_output=True)
    conn = sqlite3.connect(db)
    with conn:
        account, = conn.execute("SELECT account_id FROM user WHERE email = 'owner@bench.example'").fetchone()
        role, = conn.execute("SELECT id FROM role WHERE name = 'regular'").fetchone()
        conn.executemany("INSERT INTO domain (name, account_id, open_tracking, click_tracking, unsubscribe_footer, created_at)"
                         " VALUES (?, ?, 1, 1, 1, '2026-11-26 00:00:00')",
                         [(f"d{i}.bench.example", account) for i in range(domains)])
        first_domain, = conn.execute("SELECT min(id) FROM domain").fetchone()
        conn.executemany("INSERT INTO user (email, name, account_id, is_owner, role_id, status, created_at)"
                         " VALUES (?, '', ?, 0, ?, 'active', '2026-11-26 00:00:00')",
                         [(f"m{i}@bench.example", account, role) for i in range(members)])
        conn.execute("INSERT INTO domain_grant (domain_id, user_id, role, email_content, created_at) "
                     "SELECT ? + (id % ?), id, 'viewer', 0, '2026-11-26 00:00:00' FROM user WHERE NOT is_owner",
                     (first_domain, domains))
    member = f"m{members // 2}@bench.example"
    domain, = conn.execute("SELECT d.name FROM domain d JOIN domain_grant g ON g.domain_id = d.id "
                           "JOIN user u ON u.id = g.user_id WHERE u.email = ?", (member,)).fetchone()
    conn.close()
    return member, domain


def figures(quick: bool = False, *, members: int | None = None, domains: int | None = None,
            runs: int | None = None) -> list:
    """`users can` for run_all.py against `import typer, sqlmodel` (goal 1.15x)."""
    from _timing import Figure
    from bench_users_show import interleaved_medians

    members, domains = members or (1_000 if quick else 10_000), domains or (50 if quick else 500)
    runs = runs or (5 if quick else 15)
    work = Path(tempfile.mkdtemp(prefix="bench_can_"))
    try:
        db = str(work / "store.db")
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml")}
        member, domain = build(db, members, domains, env)
        can = [sys.executable, "-m", "mailadmin", "users", "can", member]
        commands = {"floor": [sys.executable, "-c", "import typer, sqlmodel"], "key": [*can, "campaigns.edit"],
                    "domain": [*can, "domains.view", "--domain", domain, "-o", "json"]}
        interleaved_medians(commands, env, 1)
        m = interleaved_medians(commands, env, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor, size = "`import typer, sqlmodel`", f"{members:,} members, {domains} domains"
    return [Figure(f"`users can MEMBER KEY`, {size}", m["key"], floor, m["floor"], max_ratio=1.15),
            Figure(f"`users can MEMBER KEY --domain D -o json`, {size}", m["domain"], floor, m["floor"], max_ratio=1.15)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_can_"))
    try:
        db = str(work / "store.db")
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONPATH": str(REPO), "MAILADMIN_DB": db,
               "MAILADMIN_CONFIG": str(work / "config.toml")}
        member, domain = build(db, args.members, args.domains, env)
        floor_name = "floor: python -c 'import typer, sqlmodel'"
        can = [sys.executable, "-m", "mailadmin", "users", "can", member]
        commands = {
            floor_name: [sys.executable, "-c", "import typer, sqlmodel"],
            "users can MEMBER campaigns.edit": [*can, "campaigns.edit"],
            "users can MEMBER domains.view --domain D -o json": [*can, "domains.view", "--domain", domain, "-o", "json"],
            "users can MEMBER campaigns.send --explain": [*can, "campaigns.send", "--explain"],
        }
        measure_against_floor(commands, env, args.runs,
                              f"one account of {args.members} members and {args.domains} domains (SQLite)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
