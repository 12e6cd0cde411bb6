"""The ledger's gates as a table: kind x sign x balance x credits enabled x account state x force x
key already claimed -> what `ledger.plan` decides. Pure: no store, as every append (single,
CSV, per package, the overuse charge) goes through this one decision."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mailadmin.errors import Conflict, InvalidInput, LimitExceeded
from mailadmin.services import ledger
from mailadmin.services.ledger import MAX_BALANCE, GateClosed, Holder, Planned, Replay, Request

C = 10_000  # units in one credit


def holder(balance: int = 0, *, enabled: bool = True, status: str = "active") -> Holder:
    return Holder("alice@example.com", 7, balance, "gold", enabled, "alice@example.com", status)


def stored(kind: str, amount: int, reason: str = "r") -> SimpleNamespace:
    """An entry that already holds the key, as the store returns it."""
    return SimpleNamespace(id=41, kind=kind, amount=amount, reason=reason)


OK, REPLAY, EARLIER = "planned", "replay", "earlier"

# (id, kind, amount, balance, credits enabled, status, force, claimed, expected)
# expected: (OK, balance after, forced) | (REPLAY, entry id) | (error class, text in its message)
CASES = [
    # the sign fits the kind; zero is never an entry
    ("topup", "topup", 10 * C, 0, True, "active", False, None, (OK, 10 * C, ())),
    ("refund", "refund", C, 0, True, "active", False, None, (OK, C, ())),
    ("topup-negative", "topup", -C, 0, True, "active", False, None, (InvalidInput, "a topup entry cannot have the amount -1.0000")),
    ("refund-zero", "refund", 0, 0, True, "active", False, None, (InvalidInput, "cannot have the amount 0.0000")),
    ("spend-positive", "spend", C, 5 * C, True, "active", False, None, (InvalidInput, "a spend entry cannot")),
    ("overuse-positive", "overuse", C, 5 * C, True, "active", False, None, (InvalidInput, "overuse entry cannot")),
    ("adjust-zero", "adjust", 0, 0, True, "active", False, None, (InvalidInput, "adjust entry cannot")),
    ("wrong-sign-before-replay", "topup", -C, 0, True, "active", False, stored("topup", -C), (InvalidInput, "cannot have the amount")),
    # a debit never goes below zero; a credit or an adjust may move a balance anywhere in range
    ("spend", "spend", -3 * C, 5 * C, True, "active", False, None, (OK, 2 * C, ())),
    ("spend-all", "overuse", -5 * C, 5 * C, True, "active", False, None, (OK, 0, ())),
    ("spend-short", "spend", -12 * C, 10 * C, True, "active", False, None,
     (LimitExceeded, "has 10.0000 credits; deducting 12.0000 would leave -2.0000 (short by 2.0000)")),
    ("overuse-short", "overuse", -C, 0, True, "active", False, None, (LimitExceeded, "short by 1.0000")),
    ("spend-short-forced", "spend", -C, 0, False, "closed", True, None, (LimitExceeded, "short by 1.0000")),
    ("adjust-below-zero", "adjust", -8 * C, 5 * C, True, "active", False, None, (OK, -3 * C, ())),
    ("topup-onto-negative", "topup", C, -8 * C, True, "active", False, None, (OK, -7 * C, ())),
    ("spend-from-negative", "spend", -C, -8 * C, True, "active", False, None, (LimitExceeded, "short by 9.0000")),
    ("range-up", "topup", 1, MAX_BALANCE - 1, True, "active", False, None, (LimitExceeded, "would exceed 99999999999999.9999 credits")),
    ("range-down", "adjust", -1, -(MAX_BALANCE - 1), True, "active", False, None, (LimitExceeded, "would exceed")),
    ("range-edge", "topup", 1, MAX_BALANCE - 2, True, "active", False, None, (OK, MAX_BALANCE - 1, ())),
    # gates: credits enabled, account not closed; --force overrides and says so; suspended is no gate
    ("credits-disabled", "topup", C, 0, False, "active", False, None, (GateClosed, "package gold of alice@example.com does not have credits enabled")),
    ("credits-disabled-forced", "topup", C, 0, False, "active", True, None, (OK, C, ("credits_disabled",))),
    ("closed", "refund", C, 0, True, "closed", False, None, (GateClosed, "the account of alice@example.com is closed")),
    ("closed-forced", "refund", C, 0, True, "closed", True, None, (OK, C, ("account_closed",))),
    ("both-forced", "adjust", -C, 0, False, "closed", True, None, (OK, -C, ("credits_disabled", "account_closed"))),
    ("both-refused-credits-first", "topup", C, 0, False, "closed", False, None, (GateClosed, "does not have credits enabled")),
    ("gate-before-floor", "spend", -C, 0, False, "active", False, None, (GateClosed, "does not have credits enabled")),
    ("suspended", "topup", C, 0, True, "suspended", False, None, (OK, C, ())),
    ("suspended-spend", "spend", -C, C, True, "suspended", False, None, (OK, 0, ())),
    # a key already claimed: the same request is a replay, whatever the gates and balance say now
    ("replay", "topup", C, 0, True, "active", False, stored("topup", C), (REPLAY, 41)),
    ("replay-closed", "topup", C, 0, False, "closed", False, stored("topup", C), (REPLAY, 41)),
    ("replay-short", "spend", -4 * C, C, True, "active", False, stored("spend", -4 * C), (REPLAY, 41)),
    ("conflict-amount", "topup", 2 * C, 0, True, "active", False, stored("topup", C),
     (Conflict, "key 'k' was already used on account 7 for topup 1.0000 ('r', entry #41); a different request needs a new key")),
    ("conflict-kind", "refund", C, 0, True, "active", False, stored("topup", C), (Conflict, "already used")),
    ("conflict-reason", "topup", C, 0, True, "active", False, stored("topup", C, "other"), (Conflict, "already used")),
    ("conflict-forced", "topup", 2 * C, 0, True, "active", True, stored("topup", C), (Conflict, "already used")),
    # the same key earlier in the same run (a file naming it twice)
    ("earlier-line-same", "topup", C, 0, True, "active", False, EARLIER, (REPLAY, None)),
    ("earlier-line-other", "topup", 2 * C, 0, True, "active", False, EARLIER, (Conflict, "key 'k' is used for a different request on line 2")),
]


def _claimed(claimed, h: Holder):
    """EARLIER: line 2 of the same run asked for a 1-credit top-up under the key."""
    return Request(h, "topup", C, "r", "k", line=2) if claimed == EARLIER else claimed


@pytest.mark.parametrize(("kind", "amount", "balance", "enabled", "status", "force", "claimed", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan(kind, amount, balance, enabled, status, force, claimed, expected):
    h = holder(balance, enabled=enabled, status=status)
    request = Request(h, kind, amount, "r", "k" if claimed is not None else None, line=3)
    what, *rest = expected
    if isinstance(what, type):
        with pytest.raises(what) as caught:
            ledger.plan(request, force=force, claimed=_claimed(claimed, h))
        assert rest[0] in caught.value.message
        assert caught.value.exit_code == what.exit_code
        return
    outcome = ledger.plan(request, force=force, claimed=_claimed(claimed, h))
    if what == REPLAY:
        assert outcome == Replay(request, rest[0])
    else:
        after, forced = rest
        assert outcome == Planned(request, balance, after, forced)


def test_the_running_balance_of_a_run_replaces_the_stored_one():
    h = holder(10 * C)
    request = Request(h, "spend", -4 * C, "r")
    assert ledger.plan(request, balance=6 * C).after == 2 * C
    with pytest.raises(LimitExceeded, match="has 3.0000 credits"):
        ledger.plan(request, balance=3 * C)


@pytest.mark.parametrize("key", [None, "topup:2026-12"])
def test_checked_refuses_a_request_before_any_lookup(key):
    assert ledger.checked("topup", C, " December ", key) == ("December", key)
    with pytest.raises(InvalidInput, match="kind must be one of"):
        ledger.checked("gift", C, "r", key)
    with pytest.raises(InvalidInput, match="reason is required"):
        ledger.checked("topup", C, None, key)
    with pytest.raises(InvalidInput, match="cannot have the amount"):
        ledger.checked("spend", C, "r", key)
    with pytest.raises(InvalidInput, match="printable ASCII"):
        ledger.checked("topup", C, "r", "a key")


def test_a_run_reports_refusals_as_rows_and_plans_the_rest(monkeypatch):
    """plan_many: the same decisions, each row against the balance the rows before it left; a
    gate --force would open says so in the row, where there is no room for a hint."""
    monkeypatch.setattr(ledger, "claimed_keys", lambda _session, _pairs: {(7, "old"): stored("topup", C)})
    op = SimpleNamespace(session=None)
    alice, carol = holder(0), Holder("carol@example.com", 9, 0, "free", False, "carol@example.com", "active")
    requests = [
        Request(alice, "topup", C, "r", "old", line=2, ref="alice@example.com"),  # replay of a stored entry
        Request(alice, "topup", 2 * C, "r", "new", line=3, ref="alice@example.com"),
        Request(alice, "topup", 2 * C, "r", "new", line=4, ref="alice@example.com"),  # the same key again
        Request(alice, "topup", 3 * C, "r", None, line=5, ref="alice@example.com"),
        Request(carol, "topup", C, "r", None, line=6, ref="carol@example.com"),
        Request(alice, "topup", MAX_BALANCE, "r", None, line=7, ref="#1"),
    ]
    planned, replays, failures = ledger.plan_many(op, requests)
    assert [(p.request.line, p.before, p.after) for p in planned] == [(3, 0, 2 * C), (5, 2 * C, 5 * C)]
    assert [(r.request.line, r.entry_id) for r in replays] == [(2, 41), (4, None)]
    assert [(f.line, f.id, f.exit_code) for f in failures] == [(6, "carol@example.com", 5), (7, "#1", 6)]
    assert failures[0].error == "package free of carol@example.com does not have credits enabled (--force overrides, audited)"
    assert "would exceed" in failures[1].error
    forced, _, refused = ledger.plan_many(op, requests[4:5], force=True)
    assert refused == [] and forced[0].forced == ("credits_disabled",)
