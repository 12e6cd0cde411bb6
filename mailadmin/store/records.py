"""The store's record tables: limits and assets, allow-lists, the credits ledger and the audit log.

Split from models.py for start-up: building a SQLModel table class costs about 4 ms, and the
questions asked most often (`users can`, the operator check of every command) need none of these.
`models` still offers every name (`from mailadmin.store.models import CreditEntry` works: its
module `__getattr__` loads this module on first use), and the migrations and the schema test load
both, so the metadata is whole where it must be.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from mailadmin.store.models import Table, _now, _utc
from mailadmin.vocab import ADJUST, CREDIT_KINDS, DEBIT_KINDS, LEDGER_KINDS, sql_in


# -- package and account settings -----------------------------------------------------------
class PackageLimit(Table, table=True):
    """A package's limit; a missing row or NULL value both read as unlimited."""

    __tablename__ = "package_limit"
    package_id: int = Field(sa_column=Column(Integer, ForeignKey("package.id", ondelete="CASCADE"), primary_key=True))
    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    __table_args__ = (CheckConstraint("value IS NULL OR value >= 0", name="value_nonneg"),)


class PackageAsset(Table, table=True):
    """Sending nodes, bounce addresses and domains pre-assigned to a package's new accounts."""

    __tablename__ = "package_asset"
    id: Optional[int] = Field(default=None, primary_key=True)
    package_id: int = Field(sa_column=Column(Integer, ForeignKey("package.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # node | bounce | domain
    value: str = Field(sa_column=Column(String(255), nullable=False))
    __table_args__ = (UniqueConstraint("package_id", "kind", "value", name="uq_package_asset_value"),)


class AccountLimit(Table, table=True):
    """A limit override; no row means the account inherits the package's value."""

    __tablename__ = "account_limit"
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True))
    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # NULL: unlimited
    __table_args__ = (CheckConstraint("value IS NULL OR value >= 0", name="value_nonneg"),)


class AccountIP(Table, table=True):
    """One CIDR of an account's IP allow-list (normalised network form)."""

    __tablename__ = "account_ip"
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True))
    cidr: str = Field(sa_column=Column(String(64), primary_key=True))


# -- credits -------------------------------------------------------------------------------
class CreditEntry(Table, table=True):
    """An append-only ledger entry. No foreign key on account_id: entries outlive accounts."""

    __tablename__ = "credit_entry"
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # topup spend overuse refund adjust
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))  # signed, 1/10000 credit
    balance_after: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    idempotency_key: Optional[str] = Field(default=None, sa_column=Column(String(255), nullable=True))
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_credit_entry_account_key"),
        Index("ix_credit_entry_account_time", "account_id", "id"),
        # the texts derive from mailadmin/vocab.py; tests/store/test_vocab.py holds the frozen
        # migration to the same words
        CheckConstraint(sql_in("kind", LEDGER_KINDS), name="kind_known"),
        # backstops of the rules services/ledger.py enforces: the sign fits the kind, and a
        # debit never leaves the balance below zero (only `adjust` may)
        CheckConstraint(
            f"({sql_in('kind', CREDIT_KINDS)} AND amount > 0) OR ({sql_in('kind', DEBIT_KINDS)} AND amount < 0)"
            f" OR (kind = {ADJUST!r} AND amount <> 0)",
            name="amount_sign",
        ),
        CheckConstraint(f"{sql_in('kind NOT', DEBIT_KINDS)} OR balance_after >= 0", name="debit_floor"),
        {"sqlite_autoincrement": True},
    )


# -- audit ---------------------------------------------------------------------------------
class AuditEntry(Table, table=True):
    """One change. `hash` chains over the previous entry's hash, so edits and deletions show."""

    __tablename__ = "audit_entry"
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc(index=True))
    actor: str = Field(sa_column=Column(String(200), nullable=False, index=True))  # who acted: the operator
    as_user: Optional[str] = Field(default=None, sa_column=Column(String(320), nullable=True))  # as whom (--as)
    action: str = Field(sa_column=Column(String(64), nullable=False))
    target: str = Field(sa_column=Column(String(400), nullable=False, index=True))
    before: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    after: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    __table_args__ = ({"sqlite_autoincrement": True},)


class AuditHead(Table, table=True):
    """The chain's newest entry, so that deleting the last entries is detected too."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    last_id: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_hash: str = Field(sa_column=Column(String(64), nullable=False))
    count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
