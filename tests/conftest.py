"""Test fixtures: every test runs against a real SQLite file and a real PostgreSQL database.

`backend` is parametrised over sqlite and postgresql. PostgreSQL is the server at
MAILADMIN_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test); each test gets its own
database, cloned from a template that was migrated once per run. Where no server answers, the
PostgreSQL half skips with the reason, except under CI (CI=true or MAILADMIN_REQUIRE_PG=1), where
it fails: CI must prove both backends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("MAILADMIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("MAILADMIN_REQUIRE_PG") == "1" or os.environ.get("CI") == "true"
RUN_ID = uuid.uuid4().hex[:8]

# What every invocation sees: no colour, a wide fixed width, no terminal.
BASE_ENV = {
    "NO_COLOR": "1",
    "COLUMNS": "200",
    "_TYPER_FORCE_DISABLE_TERMINAL": "1",
    "TERM": "dumb",
}


# -- PostgreSQL ------------------------------------------------------------------------------
def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


_pg_state: dict[str, object] = {}


def _pg_reason() -> str | None:
    """None when the server answers, else why not (cached for the run)."""
    if "reason" not in _pg_state:
        try:
            with _pg_admin() as conn:
                conn.execute("SELECT 1")
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
            _pg_state["reason"] = f"PostgreSQL at {PG_ADMIN_URL} unreachable: {str(exc).splitlines()[0]}"
    return _pg_state["reason"]  # type: ignore[return-value]


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{dbname}"


def _pg_create(dbname: str, template: str | None = None) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"' + (f' TEMPLATE "{template}"' if template else ""))


def _pg_drop(dbname: str) -> None:
    try:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    except Exception:  # noqa: BLE001 - cleanup is best effort
        pass


# -- the store under test --------------------------------------------------------------------
def _initialise(url: str) -> None:
    from mailadmin.operation import Actor
    from mailadmin.services import setup
    from mailadmin.store import open_store
    from mailadmin.timeutil import utcnow

    store = open_store(url, check_schema=False, create=True)
    setup.init(store, Actor.operator("test-setup"), utcnow)
    store.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """An initialised store per backend, made once and copied for each test."""
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        _pg_drop(made["postgresql"])


def _template(backend: str, templates: dict[str, str], tmp_path_factory) -> str:
    if backend not in templates:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("template") / "template.db"
            _initialise(str(path))
            templates[backend] = str(path)
        else:
            name = f"ma_tmpl_{RUN_ID}_{os.getpid()}"
            _pg_create(name)
            _initialise(_pg_url(name))
            templates[backend] = name
    return templates[backend]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    if request.param == "postgresql" and (reason := _pg_reason()):
        if REQUIRE_PG:
            pytest.fail(f"CI requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return request.param


def _fresh(backend: str, tmp_path: Path, template: str | None, request) -> str:
    if backend == "sqlite":
        path = tmp_path / "store.db"
        if template:
            shutil.copyfile(template, path)
            os.chmod(path, 0o600)
        return str(path)
    name = f"ma_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    _pg_create(name, template)
    request.addfinalizer(lambda: _pg_drop(name))
    return _pg_url(name)


@pytest.fixture
def db_url(backend, tmp_path, _templates, tmp_path_factory, request) -> str:
    """An initialised store (schema current, built-in roles) for this test alone."""
    return _fresh(backend, tmp_path, _template(backend, _templates, tmp_path_factory), request)


@pytest.fixture
def empty_db_url(backend, tmp_path, request) -> str:
    """A store location with nothing in it yet (for init and schema tests)."""
    if backend == "sqlite":
        return str(tmp_path / "empty.db")
    return _fresh(backend, tmp_path, None, request)


@pytest.fixture
def store(db_url):
    """The Store object for service-level tests."""
    from mailadmin.store import open_store

    s = open_store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def op(store):
    """Service tests' operations: `with op.write() as o: users.create(o, ...)`; the actor is the
    operator `tester` and the clock is real unless `now=` fixes it."""
    from contextlib import contextmanager

    from mailadmin.operation import Actor, Operation
    from mailadmin.timeutil import utcnow

    class Operations:
        actor = Actor.operator("tester")

        @contextmanager
        def write(self, now=None):
            with store.write() as session:
                yield Operation(session, self.actor, now or utcnow())

        @contextmanager
        def read(self, now=None):
            with store.read() as session:
                yield Operation(session, self.actor, now or utcnow())

    return Operations()


# -- running the CLI -------------------------------------------------------------------------
@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Result(exit_code={self.exit_code}, stdout={self.stdout[:2000]!r}, stderr={self.stderr[:2000]!r})"


@pytest.fixture
def cli_env(tmp_path, db_url) -> dict[str, str]:
    env = dict(BASE_ENV)
    env["MAILADMIN_DB"] = db_url
    env["MAILADMIN_CONFIG"] = str(tmp_path / "config.toml")
    return env


@pytest.fixture
def cli(cli_env, monkeypatch):
    """Run mailadmin in-process with CliRunner: `cli("roles", "list", "-o", "json")`."""
    from typer.testing import CliRunner

    from mailadmin.cli.app import app

    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture
def run(cli_env):
    """Run mailadmin as a real subprocess (`python -m mailadmin`), for pipes, signals, concurrency."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        full_env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "mailadmin", *args],
            input=input, capture_output=True, text=True, env=full_env, timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return invoke
