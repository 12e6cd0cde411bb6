"""Completion of every value, answered from the generated table: commands, options, formats,
statuses, codes, limits, permission keys, config keys and names in the store; never cut silently,
never a traceback, and a Tab press imports neither Typer, pydantic nor SQLAlchemy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mailadmin.cli.completion import MORE, SPEC, STORE_LIMIT, candidates
from tests.conftest import BASE_ENV, REPO

STATIC = [
    # (words before the one being typed, what is typed, expected candidates (a subset when ...))
    ([], "", ["init", "roles", "packages", "users", "credits", "domains", "operators", "audit", "db", "config", "batch", "export", "apply"]),
    (["operators", "roles"], "", ["list", "show", "create", "delete", "permissions"]),
    (["operators", "roles", "create", "r", "--grant"], "credits", ["credits", "credits.add"]),
    ([], "ro", ["roles"]),
    (["roles"], "", ["list", "show", "create", "grant", "revoke", "rename", "delete", "matrix", "permissions"]),
    (["roles", "list"], "--so", ["--sort"]),
    (["roles", "list", "-o"], "", ["table", "wide", "json", "csv", "ids"]),
    (["roles", "show", "viewer", "-o"], "", ["table", "json", "csv"]),
    (["roles", "list"], "--output=j", ["--output=json"]),
    (["roles", "grant", "viewer"], "campaigns.", ["campaigns.view", "campaigns.edit", "campaigns.send"]),
    (["roles", "grant", "viewer", "chat"], "sms.v", ["sms.view"]),  # KEY... takes many
    (["config", "set"], "platform.t", ["platform.tracking_host", "platform.tracking_label"]),
    (["packages", "create", "p", "--limit"], "team", ["team_members="]),
    (["packages", "create", "p", "--limit"], "daily=un", ["daily=unlimited"]),
    (["users", "list", "--status"], "", ["active", "suspended", "closed"]),
    (["users", "suspend", "--code"], "b", ["billing", "bounces"]),
    (["credits", "add", "--kind"], "", ["topup", "refund"]),
    (["credits", "history", "a@example.com", "--kind"], "o", ["overuse"]),
    (["nosuch"], "", []),
]


@pytest.mark.parametrize(("args", "typed", "expected"), STATIC, ids=[" ".join([*c[0], c[1]]) or "(nothing)" for c in STATIC])
def test_static_values(args, typed, expected):
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    assert [value for value, _help in candidates(spec, args, typed, {})] == expected


def _tab(line: str, env: dict[str, str], shell: str = "bash") -> subprocess.CompletedProcess:
    full = {**os.environ, **BASE_ENV, "PYTHONPATH": str(REPO), "_MAILADMIN_COMPLETE": f"complete_{shell}", **env}
    if shell == "bash":
        words = line.split(" ")
        full.update({"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)})
    else:
        full["_TYPER_COMPLETE_ARGS"] = line
        full["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "mailadmin"], capture_output=True, text=True,
                          env=full, timeout=60)


def test_names_come_from_the_store_and_a_cut_list_says_so(db_url):
    from sqlalchemy import create_engine, insert

    from mailadmin.store.models import Role
    from mailadmin.timeutil import utcnow

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    with engine.begin() as conn:  # more roles than one Tab press offers, written directly: only their names matter
        conn.execute(insert(Role), [{"name": f"team-{i:03d}", "description": "bulk", "builtin": False, "created_at": utcnow()}
                                    for i in range(STORE_LIMIT + 5)])
    engine.dispose()
    proc = _tab("mailadmin roles show team-", {"MAILADMIN_DB": db_url})
    names = proc.stdout.split("\n")[:-1]
    assert len(names) == STORE_LIMIT + 1 and names[-1] == MORE and names[0] == "team-000"
    assert _tab("mailadmin roles show team-2", {"MAILADMIN_DB": db_url}).stdout.split() == [f"team-{i}" for i in range(200, 205)]
    assert _tab(f"mailadmin --db {db_url} roles show vie", {"MAILADMIN_DB": "/nonexistent.db"}).stdout.split() == ["viewer"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_tab_press_imports_no_framework(shell, db_url):
    proc = _tab("mailadmin users list --status a" if shell == "bash" else "mailadmin users list --status a",
                {"MAILADMIN_DB": db_url}, shell)
    assert proc.returncode == 0
    assert "active" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"typer", "click", "pydantic", "sqlalchemy", "sqlmodel", "rich"}, imported


def test_a_broken_store_completes_nothing_quietly(tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_text("not a database")
    proc = _tab("mailadmin roles show a", {"MAILADMIN_DB": str(broken)})
    assert (proc.returncode, proc.stdout) == (0, "")
    assert "Traceback" not in proc.stderr


def test_short_options_mean_one_thing_everywhere():
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    meaning: dict[str, set[str]] = {}

    def walk(node: dict) -> None:
        by_entry: dict[int, list[str]] = {}
        for name, entry in node.get("options", {}).items():
            by_entry.setdefault(id(entry), []).append(name)
        for name, entry in node.get("options", {}).items():
            longs = [n for n in node["options"] if node["options"][n] == entry and n.startswith("--")]
            if not name.startswith("--") and longs:
                meaning.setdefault(name, set()).add(longs[0])
        for child in node.get("commands", {}).values():
            walk(child)

    walk(spec)
    assert {short: longs for short, longs in meaning.items() if len(longs) > 1} == {}


def test_help_shows_readable_metavars():
    from typer.testing import CliRunner

    from mailadmin.cli.app import app
    from mailadmin.cli.reference import commands

    runner = CliRunner()
    for path, _usage, _help in commands():
        text = runner.invoke(app, [*path.split()[1:], "--help"], env={**BASE_ENV}).output
        assert "<" not in text.replace("<=", ""), f"{path} --help shows a raw type: {text}"


def _shell_env(db_url: str, tmp_path) -> dict[str, str]:
    bindir = os.path.dirname(sys.executable)
    return {**os.environ, **BASE_ENV, "MAILADMIN_DB": db_url, "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_bash_script_completes_in_bash(db_url, tmp_path):
    script = (f". {REPO}/completions/mailadmin.bash; COMP_WORDS=(mailadmin users list --status s); COMP_CWORD=4; "
              "_mailadmin_completion mailadmin; printf '%s\\n' \"${COMPREPLY[@]}\"")
    proc = subprocess.run(["bash", "--norc", "-c", script], env=_shell_env(db_url, tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["suspended"], proc.stderr


def test_the_readme_zsh_recipe_works_in_a_fresh_zsh(db_url, tmp_path):
    """As the README says: compinit first, then the script; the completion function answers."""
    import shutil

    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed here (.ci/run installs it)")
    script = (f"autoload -Uz compinit && compinit -D; source {REPO}/completions/_mailadmin; "
              "print -r -- ${_comps[mailadmin]}; words=(mailadmin roles show vie); CURRENT=4; "
              "_arguments() { print -r -- \"$*\" }; _mailadmin_completion")
    proc = subprocess.run(["zsh", "-f", "-c", script], env=_shell_env(db_url, tmp_path), capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    assert lines[0] == "_mailadmin_completion", proc.stderr
    assert '"viewer"' in lines[1] and proc.stderr == ""
