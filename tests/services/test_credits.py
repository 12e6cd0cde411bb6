"""services/credits.py and services/ledger.py without the CLI: amount signs, CSV parsing, and the
unique constraint as the backstop of idempotency when the lookup before it misses."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from mailadmin.cli import parse
from mailadmin.errors import Conflict, InvalidInput, StoreUnavailable
from mailadmin.refs import parse_ref
from mailadmin.services import credits, ledger, ledger_verify
from mailadmin.store.models import Account, AuditEntry, CreditEntry
from tests.factories import make_owner, make_package


@pytest.mark.parametrize(
    ("raw", "kind", "units"),
    [("10", "topup", 100000), ("0.0001", "refund", 1), ("2.5", "spend", -25000), ("1", "overuse", -10000),
     ("-5", "adjust", -50000), ("5", "adjust", 50000), (" 12.3456 ", "topup", 123456)],
)
def test_signed_amount(raw, kind, units):
    assert parse.signed_amount(raw, kind) == units


@pytest.mark.parametrize(
    ("raw", "kind", "needle"),
    [("-5", "topup", "positive amount"), ("-5", "spend", "positive amount"), ("0", "topup", "greater than zero"),
     ("0", "adjust", "greater than zero"), ("-0", "adjust", "-0"), ("1e3", "adjust", "at most 4 decimals"),
     ("1.23456", "topup", "at most 4 decimals")],
)
def test_signed_amount_refuses(raw, kind, needle):
    with pytest.raises(InvalidInput, match=needle):
        parse.signed_amount(raw, kind)


@pytest.mark.parametrize("key", [None, "topup:2026-12", "a", "x" * 200, "send/118#3=ok"])
def test_good_keys(key):
    assert ledger.check_key(key) == key


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "tab\there", "é"])
def test_bad_keys(key):
    with pytest.raises(InvalidInput, match="printable ASCII"):
        ledger.check_key(key)


def _csv(text: str):
    return credits.read_topups(io.StringIO(text, newline=""), "f.csv")


def test_read_csv_rows_and_line_numbers():
    rows, failures = _csv("user,amount,reason,key\r\na@x.com,1,r,k\r\n\r\nb@x.com,2.5,\"r, with comma\",\r\n")
    assert failures == []
    assert [(r.line, r.ref, r.amount, r.reason, r.key) for r in rows] == [
        (2, "a@x.com", 10000, "r", "k"), (4, "b@x.com", 25000, "r, with comma", None)]


def test_read_csv_collects_every_bad_row():
    rows, failures = _csv("user,amount,reason\na@x.com,1e3,r\nb@x.com,1,r\nc@x.com,1,\nd@x.com,1\n")
    assert [r.ref for r in rows] == ["b@x.com"]
    assert [(f.line, f.id, f.exit_code) for f in failures] == [(2, "a@x.com", 2), (4, "c@x.com", 2), (5, "d@x.com", 2)]


@pytest.mark.parametrize("text", ["", "a@x.com,1,r,k\n", "user,amount,key\n", "user,amount,reason,key,note\n"])
def test_read_csv_needs_the_header(text):
    with pytest.raises(InvalidInput):
        _csv(text)


@pytest.fixture
def alice(store):
    with store.write() as s:
        owner = make_owner(s, "alice@example.com", make_package(s, "gold"))
        return owner.account_id


def _count(store, model) -> int:
    with store.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


ALICE = parse_ref("alice@example.com")


def test_the_constraint_catches_a_claim_the_lookup_missed(store, op, alice, monkeypatch):
    with op.write() as o:
        credits.apply(o, ALICE, "topup", 50000, "December", key="k")
    # a lookup that misses (as a writer that slipped past the lock would see it): the INSERT's
    # ON CONFLICT on UNIQUE(account_id, idempotency_key) still finds the key
    monkeypatch.setattr(ledger, "_by_key", _missing_once())
    with op.write() as o:
        again = credits.apply(o, ALICE, "topup", 50000, "December", key="k")
    assert again.replayed and again.entry.amount == 50000
    with pytest.raises(Conflict, match="already used"):
        with op.write() as o:
            credits.apply(o, ALICE, "topup", 60000, "December", key="k")
    assert _count(store, CreditEntry) == 1
    with store.read() as s:
        assert s.get(Account, alice).credit_balance == 50000


def _missing_once():
    """_by_key that misses the first time it is asked (the pre-insert lookup), then tells the truth."""
    from mailadmin.store.models import CreditEntry as Entry

    calls = {"n": 0}

    def by_key(session, account_id, key):
        calls["n"] += 1
        if calls["n"] % 2 == 1:
            return None
        return session.execute(select(Entry).where(Entry.account_id == account_id, Entry.idempotency_key == key)).scalar_one_or_none()

    return by_key


def test_bulk_rolls_back_everything_when_the_constraint_fires(store, op, alice, monkeypatch):
    with op.write() as o:
        credits.apply(o, ALICE, "topup", 50000, "December", key="k")
    audits = _count(store, AuditEntry)
    monkeypatch.setattr(ledger, "claimed_keys", lambda *_a, **_k: {})  # the set-based lookup misses
    rows = [credits.Row(2, ALICE, 10000, "other", None), credits.Row(3, ALICE, 50000, "December", "k")]
    with pytest.raises(StoreUnavailable, match="nothing was applied"):
        with op.write() as o:
            credits.topup_rows(o, rows)
    assert _count(store, CreditEntry) == 1 and _count(store, AuditEntry) == audits
    with store.read() as s:
        assert s.get(Account, alice).credit_balance == 50000


def test_verify_on_an_empty_ledger(op):
    with op.read() as o:
        report = ledger_verify.verify(o)
    assert report.ok and report.entries == 0


def test_entries_of_a_deleted_account_stay_and_still_count(op, alice):
    from sqlalchemy import delete

    from mailadmin.store.models import User

    with op.write() as o:
        credits.apply(o, ALICE, "topup", 10000, "r")
        o.session.execute(delete(User).where(User.account_id == alice))
        o.session.execute(delete(Account).where(Account.id == alice))
    with op.read() as o:
        report = ledger_verify.verify(o)
    assert report.ok and report.entries == 1 and report.accounts == 0


@pytest.mark.parametrize("distinct_keys", [3, 60])  # few keys: account IN + key IN; many: (account, key) row values
def test_claimed_keys_finds_exactly_the_pairs_asked_for(store, op, distinct_keys):
    with op.write() as o:
        package = make_package(o.session, "gold")
        accounts = [make_owner(o.session, f"c{i}@example.com", package).account_id for i in range(distinct_keys)]
        rows = [credits.Row(i + 2, parse_ref(f"c{i}@example.com"), 10000, "r", f"k{i}") for i in range(distinct_keys)]
        credits.topup_rows(o, rows)
    wanted = {(a, f"k{i}") for i, a in enumerate(accounts)}
    crossed = {(accounts[0], f"k{i}") for i in range(1, distinct_keys)}  # keys that exist, but on other accounts
    with store.read() as s:
        found = ledger.claimed_keys(s, wanted | crossed | {(accounts[-1], "never")})
    assert set(found) == wanted
    assert {e.amount for e in found.values()} == {10000}


@pytest.mark.parametrize(
    ("kind", "amount", "balance_after"),
    [("topup", -1, 0), ("refund", 0, 0), ("spend", 1, 1), ("overuse", 1, 1), ("adjust", 0, 0),
     ("spend", -1, -1), ("overuse", -5, -3)],
)
def test_check_constraints_back_the_rules(store, alice, kind, amount, balance_after):
    """Sign fits the kind; a debit never leaves a negative balance: even a raw INSERT is refused."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from mailadmin.timeutil import utcnow

    with pytest.raises(IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(insert(CreditEntry.__table__).values(account_id=alice, kind=kind, amount=amount, balance_after=balance_after,
                                                              reason="raw", actor="t", created_at=utcnow()))
    assert _count(store, CreditEntry) == 0


def test_check_constraints_let_the_legal_rows_through(store, alice):
    from sqlalchemy import insert

    from mailadmin.timeutil import utcnow

    rows = [("adjust", -50, -50), ("topup", 20, -30), ("refund", 40, 10), ("spend", -10, 0), ("adjust", 5, 5)]
    with store.engine.begin() as conn:
        for kind, amount, after in rows:
            conn.execute(insert(CreditEntry.__table__).values(account_id=alice, kind=kind, amount=amount, balance_after=after,
                                                              reason="raw", actor="t", created_at=utcnow()))
    assert _count(store, CreditEntry) == len(rows)
