"""Start-up stays light: --help, --version and completion never import the store's libraries."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import BASE_ENV, REPO

HEAVY = ("sqlalchemy", "sqlmodel", "alembic")


def imported_modules(args: list[str], extra_env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """Run mailadmin in a subprocess with -X importtime; return (exit code, top-level modules imported)."""
    env = {**os.environ, **BASE_ENV, "PYTHONPATH": str(REPO), **(extra_env or {})}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "mailadmin", *args],
                          capture_output=True, text=True, env=env, timeout=60)
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return proc.returncode, modules


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["roles", "--help"], ["roles", "create", "--help"],
                                  ["config", "path"], ["roles", "permissions", "-o", "json"]])
def test_light_commands_do_not_import_the_store(args):
    code, modules = imported_modules(args)
    assert code == 0
    assert not modules & set(HEAVY), f"{args} imported {modules & set(HEAVY)}"


def test_completion_of_role_names_reads_the_store_without_sqlalchemy(db_url, backend):
    code, modules = imported_modules(
        [], {"_MAILADMIN_COMPLETE": "complete_bash", "COMP_WORDS": "mailadmin roles show vi", "COMP_CWORD": "3", "MAILADMIN_DB": db_url}
    )
    assert code == 0
    assert not modules & set(HEAVY)
    env = {**os.environ, **BASE_ENV, "PYTHONPATH": str(REPO), "_MAILADMIN_COMPLETE": "complete_bash",
           "COMP_WORDS": "mailadmin roles show vi", "COMP_CWORD": "3", "MAILADMIN_DB": db_url}
    out = subprocess.run([sys.executable, "-m", "mailadmin"], capture_output=True, text=True, env=env, timeout=60).stdout
    assert out.split() == ["viewer"]


def test_ordinary_commands_do_not_import_alembic(db_url):
    code, modules = imported_modules(["roles", "list", "-o", "json"], {"MAILADMIN_DB": db_url})
    assert code == 0
    assert "sqlalchemy" in modules and "alembic" not in modules


def test_version_prints_the_version():
    from mailadmin import __version__

    env = {**os.environ, **BASE_ENV, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "mailadmin", "--version"], capture_output=True, text=True, env=env)
    assert proc.stdout == f"mailadmin {__version__}\n"
