"""`credits verify`: every cached balance and every entry's running balance proved from the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from mailadmin.operation import Operation
from mailadmin.store.models import Account, CreditEntry
from mailadmin.vocab import CREDIT_KINDS, DEBIT_KINDS

# What can be wrong; render/ words each one.
BROKEN_CHAIN = "broken_chain"  # balance_after is not the previous entry's plus its amount
WRONG_SIGN = "wrong_sign"  # the amount does not fit the kind
SUM_DIFFERS = "sum_differs"  # the cached balance is not the sum of the account's entries
LAST_DIFFERS = "last_differs"  # the cached balance is not the last entry's balance_after


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    entry_id: int | None
    problem: str  # one of the codes above
    expected: int | None = None  # what the ledger says
    found: int | None = None  # what is stored
    kind: str | None = None  # WRONG_SIGN: the entry's kind and amount
    amount: int | None = None


@dataclass
class VerifyReport:
    accounts: int
    entries: int
    problems: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(op: Operation) -> VerifyReport:
    """Recompute every balance from the ledger, set-based:
    - each entry's balance_after must equal the previous entry's plus its amount (a window
      function, so an edited or deleted entry is pinpointed rather than smearing over the rest);
    - each account's cached balance must equal the sum of its entries and its last balance_after;
    - each entry's sign must fit its kind."""
    session = op.session
    e = CreditEntry.__table__.c
    previous = func.lag(e.balance_after).over(partition_by=e.account_id, order_by=e.id)
    chained = select(e.id, e.account_id, e.amount, e.balance_after, previous.label("prev")).subquery()
    problems: list[Mismatch] = []
    expected_after = func.coalesce(chained.c.prev, 0) + chained.c.amount
    for entry_id, account_id, after, expected in session.execute(
        select(chained.c.id, chained.c.account_id, chained.c.balance_after, expected_after)
        .where(chained.c.balance_after != expected_after)
        .order_by(chained.c.account_id, chained.c.id)
    ):
        problems.append(Mismatch(account_id, entry_id, BROKEN_CHAIN, expected, after))
    for entry_id, account_id, kind, amount in session.execute(
        select(e.id, e.account_id, e.kind, e.amount).where(
            (e.amount == 0)
            | (e.kind.in_(CREDIT_KINDS) & (e.amount < 0))
            | (e.kind.in_(DEBIT_KINDS) & (e.amount > 0))
        ).order_by(e.account_id, e.id)
    ):
        problems.append(Mismatch(account_id, entry_id, WRONG_SIGN, kind=kind, amount=amount))

    last_id = select(e.account_id, func.max(e.id).label("last_id"), func.sum(e.amount).label("total"),
                     func.count().label("n")).group_by(e.account_id).subquery()
    last_after = select(e.balance_after).where(e.id == last_id.c.last_id).scalar_subquery()
    a = Account.__table__.c
    entries = 0
    rows = session.execute(
        select(a.id, a.credit_balance, last_id.c.total, last_id.c.n, last_after)
        .select_from(Account.__table__.outerjoin(last_id, last_id.c.account_id == a.id))
        .order_by(a.id)
    ).all()
    for account_id, cached, total, n, last in rows:
        total, n = total or 0, n or 0
        entries += n
        if cached != total:
            problems.append(Mismatch(account_id, None, SUM_DIFFERS, total, cached))
        elif n and last != cached:
            problems.append(Mismatch(account_id, None, LAST_DIFFERS, last, cached))
    orphans = session.execute(
        select(func.count()).select_from(CreditEntry.__table__).where(~e.account_id.in_(select(a.id)))
    ).scalar_one()
    problems.sort(key=lambda p: (p.account_id, p.entry_id is None, p.entry_id or 0))  # entries, then the account
    return VerifyReport(len(rows), entries + orphans, problems)
