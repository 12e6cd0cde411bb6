"""Tables never cut data (issue 8): at 60, 80 and 120 columns every identifier, amount and limit a
list or show prints in JSON appears whole in its table, nothing is ellipsized, and the matrix
never splits a header inside a word. The demo store (`init --sample`) gives real data."""

from __future__ import annotations

import pytest

# (command, JSON fields whose values must appear whole in the table)
LISTS = [
    (["roles", "list"], ["name", "permission_count", "members"]),
    (["packages", "list"], ["name", "role", "accounts"]),
    (["users", "list", "--limit", "40"], ["id", "email", "status", "package"]),
    (["credits", "list", "--all"], ["account_id", "user", "balance"]),
    (["audit", "list", "-n", "30"], ["id", "actor", "action", "target"]),
]
SHOWS = [
    (["packages", "show", "business"], ["name", "role", "credit_cost"]),
    (["users", "show", "#3"], ["email", "status", "package"]),
    (["credits", "balance", "#3"], ["user", "balance", "package"]),
]


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """One demo store for the module: these tests only read."""
    import io

    from mailadmin.cli.app import invoke

    path = str(tmp_path_factory.mktemp("sample") / "sample.db")
    assert invoke(["--db", path, "init", "--sample"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    return path


def _run(store: str, args: list[str], columns: int) -> str:
    import io

    from mailadmin.cli.app import invoke
    from tests.conftest import BASE_ENV

    out, err = io.StringIO(), io.StringIO()
    env = {**BASE_ENV, "COLUMNS": str(columns), "MAILADMIN_CONFIG": "/nonexistent/config.toml"}
    assert invoke(["--db", store, *args], stdout=out, stderr=err, env=env) == 0, err.getvalue()
    return out.getvalue()


def _values(data, fields):
    rows = data if isinstance(data, list) else [data]
    return {str(row[f]) for row in rows for f in fields if row.get(f) not in (None, "", [])}


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize(("args", "fields"), LISTS + SHOWS, ids=[" ".join(a) for a, _f in LISTS + SHOWS])
def test_every_identifier_and_amount_is_whole(sample_store, args, fields, columns):
    import json

    data = json.loads(_run(sample_store, [*args, "-o", "json"], columns))
    table = _run(sample_store, args, columns)
    assert "…" not in table
    missing = [v for v in _values(data, fields) if v not in table]
    assert missing == []


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_the_matrix_never_splits_a_header(sample_store, columns):
    import json

    table = _run(sample_store, ["roles", "matrix"], columns)
    names = [row["role"] for row in json.loads(_run(sample_store, ["roles", "matrix", "-o", "json"], columns))]
    assert "…" not in table
    assert all(name in table for name in names)
    assert all(area in table for area in ("campaigns", "landing_pages", "account"))


def test_wide_shows_the_optional_columns(sample_store):
    plain = _run(sample_store, ["packages", "list"], 80)
    wide = _run(sample_store, ["packages", "list", "-o", "wide"], 80)
    assert "Bounce limit" not in plain and "Bounce limit" in wide
