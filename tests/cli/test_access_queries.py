"""`users can` and `users list --as` cost a fixed number of queries whatever the size of the
account: no query per member, per domain or per grant (issue 9's speed clause, counted rather
than timed)."""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from tests.conftest import BASE_ENV

NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)


@contextmanager
def counted_statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def grow(store, owner_email: str, members: int, domains: int) -> None:
    """Add members (role regular), domains, and a viewer grant for every member, set-based."""
    from mailadmin.store.models import Domain, DomainGrant, Role, User

    with store.write() as session:
        account = session.execute(select(User.account_id).where(User.email == owner_email)).scalar_one()
        role = session.execute(select(Role.id).where(Role.name == "regular")).scalar_one()
        start = session.execute(select(User.id).order_by(User.id.desc()).limit(1)).scalar_one()
        session.execute(insert(User), [{"email": f"m{start + i}@big.example", "name": "", "account_id": account,
                                        "is_owner": False, "role_id": role, "status": "active", "created_at": NOW}
                                       for i in range(members)])
        base = len(session.execute(select(Domain.id)).all())
        session.execute(insert(Domain), [{"name": f"d{base + i}.big.example", "account_id": account, "created_at": NOW}
                                         for i in range(domains)])
        domain_ids = session.execute(select(Domain.id).where(Domain.account_id == account)).scalars().all()
        member_ids = session.execute(select(User.id).where(User.account_id == account, User.is_owner.is_(False))).scalars().all()
        have = {uid for uid in session.execute(select(DomainGrant.user_id)).scalars()}
        session.execute(insert(DomainGrant), [{"domain_id": domain_ids[i % len(domain_ids)], "user_id": uid, "role": "viewer",
                                               "email_content": False, "created_at": NOW}
                                              for i, uid in enumerate(member_ids) if uid not in have])


def run(db_url, tmp_path, *args):
    from mailadmin.cli.app import invoke

    env = {**BASE_ENV, "MAILADMIN_DB": db_url, "MAILADMIN_CONFIG": str(tmp_path / "config.toml")}
    out, err = io.StringIO(), io.StringIO()
    with counted_statements() as seen:
        code = invoke(list(args), stdin=io.StringIO(""), stdout=out, stderr=err, env=env)
    assert code in (0, 1), err.getvalue()
    return len(seen), out.getvalue()


@pytest.fixture
def team(cli, store, db_url):
    assert cli("packages", "create", "pro", "--role", "admin").exit_code == 0
    assert cli("users", "create", "owner@big.example", "--package", "pro").exit_code == 0
    assert cli("users", "invite", "owner@big.example", "asked@big.example", "--role", "regular").exit_code == 0
    assert cli("users", "invite", "owner@big.example", "boss@big.example", "--role", "admin").exit_code == 0
    assert cli("domains", "add", "asked.big.example", "--user", "owner@big.example").exit_code == 0
    assert cli("domains", "grant", "asked.big.example", "asked@big.example", "--role", "viewer").exit_code == 0
    return store


@pytest.mark.parametrize("question", [
    ["campaigns.edit"],
    ["domains.view", "--domain", "asked.big.example", "--explain", "-o", "json"],
    ["--list"],
])
def test_users_can_costs_the_same_for_a_team_of_3_or_of_300(team, db_url, tmp_path, question):
    small, answer_small = run(db_url, tmp_path, "users", "can", "asked@big.example", *question)
    grow(team, "owner@big.example", members=300, domains=40)
    big, answer_big = run(db_url, tmp_path, "users", "can", "asked@big.example", *question)
    assert answer_big == answer_small
    assert big == small <= 12, (small, big)  # 10 today, connection set-up included


def test_users_list_as_an_admin_is_one_query_plus_paging(team, db_url, tmp_path):
    small, listed = run(db_url, tmp_path, "--as", "boss@big.example", "users", "list", "-o", "ids")
    assert len(listed.split()) == 3
    grow(team, "owner@big.example", members=300, domains=40)
    big, listed = run(db_url, tmp_path, "--as", "boss@big.example", "users", "list", "-o", "ids")
    assert len(listed.split()) == 303
    assert big == small
