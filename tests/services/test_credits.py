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


# -- issue 8: text matched whole, any line end, dry runs, 64-bit paging ------------------------
@pytest.mark.parametrize(("cells", "needle"), [
    ('a@x.com,1,r,"k\n"', "printable ASCII"), ("a@x.com,1,r,k\u2028", "printable ASCII"),
    ('a@x.com,1,"r\n",', "control characters"), ("a@x.com,1,r\u2028,", "must be one line"),
    ("a@x.com,\u0661,r,", "at most 4 decimals"), ("a@x.com,1e3,r,", "at most 4 decimals"), (f"a@x.com,{'9' * 30},r,", "too large"),
    ("#\u00b2,1,r,", "is not a user id"),
])
def test_read_csv_refuses_what_is_not_whole(cells, needle):
    rows, failures = _csv("user,amount,reason,key\n" + cells + "\n")
    assert rows == [] and [f.line for f in failures] == [2] and needle in failures[0].error


def test_read_csv_trims_padding_but_never_a_line_break():
    rows, failures = _csv("user , amount,reason,\tkey\na@x.com, 1 , r ,\tk1 \n")
    assert failures == [] and [(r.amount, r.reason, r.key) for r in rows] == [(10000, "r", "k1")]
    with pytest.raises(InvalidInput, match="must be the header"):
        _csv("user,amount,reason,key\u2028\n")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_read_csv_any_line_end_and_a_bom(newline):
    text = "\ufeff" + newline.join(["user,amount,reason,key", "a@x.com,1,r,k", "#2147483648,2,r,", ""])
    rows, failures = _csv(text)
    assert failures == [] and [(r.line, r.ref) for r in rows] == [(2, "a@x.com"), (3, "#2147483648")]
    assert not rows[1].user.can_exist  # the resolver skips it: "no user", never a driver overflow


def test_dry_runs_plan_everything_and_write_nothing(store, op, alice):
    with op.write() as o:
        credits.apply(o, ALICE, "topup", 10000, "r", key="old")
    entries, audits = _count(store, CreditEntry), _count(store, AuditEntry)
    rows = [credits.Row(2, ALICE, 10000, "r", "old"), credits.Row(3, ALICE, 20000, "r", "new")]
    with op.read() as o:
        report = credits.topup_rows(o, rows, dry_run=True)
    assert [(p.request.line, p.before, p.after) for p in report.changed] == [(3, 10000, 30000)]
    assert [r.entry_id for r in report.unchanged] == [1] and report.failed == []
    with op.read() as o:
        package_run = credits.topup_package(o, "gold", 50000, "monthly", "m1", dry_run=True)
    assert [(p.request.key, p.after) for p in package_run.changed] == [(f"m1:{alice}", 60000)]
    assert (_count(store, CreditEntry), _count(store, AuditEntry)) == (entries, audits)
    with store.read() as s:
        assert s.get(Account, alice).credit_balance == 10000


@pytest.mark.parametrize("before", [2**31 - 1, 2**31, 2**63 - 1])
def test_history_pages_by_any_64_bit_id(op, alice, before):
    with op.write() as o:
        for n in range(1, 4):
            credits.apply(o, ALICE, "topup", n * 10000, f"r{n}")
    with op.read() as o:
        _h, everything, more = credits.history(o, ALICE, before=before, limit=None)
        _h, skipped, _more = credits.history(o, ALICE, before=before, limit=1, offset=1)
    assert [e.reason for e in everything] == ["r3", "r2", "r1"] and not more
    assert [e.reason for e in skipped] == ["r2"]
