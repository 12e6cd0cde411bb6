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
from mailadmin.vocab import ADJUST, CREDIT_KINDS, DEBIT_KINDS, LEDGER_KINDS, USAGE_SPANS, sql_in


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


# -- sending domains: keys, DNS checks, SMTP credentials --------------------------------------
class DkimKey(Table, table=True):
    """A DKIM key of a domain. `active` signs; `pending` is a rotation's new key, published beside
    the active one until its DNS record is verified and `rotate-dkim --finish` makes it active (the
    old key is then deleted). The private key is PEM PKCS#8 (what OpenDKIM reads, Ed25519
    included); `public_key` is the record's p= value. Deleted with its domain."""

    __tablename__ = "dkim_key"
    id: Optional[int] = Field(default=None, primary_key=True)
    domain_id: int = Field(sa_column=Column(Integer, ForeignKey("domain.id", ondelete="CASCADE"), nullable=False, index=True))
    selector: str = Field(sa_column=Column(String(63), nullable=False))
    algorithm: str = Field(sa_column=Column(String(8), nullable=False))  # rsa | ed25519
    bits: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))  # RSA modulus size
    private_key: str = Field(sa_column=Column(Text, nullable=False))
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(sa_column=Column(String(8), nullable=False))  # active | pending
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    __table_args__ = (
        UniqueConstraint("domain_id", "selector", name="uq_dkim_key_selector"),
        CheckConstraint("algorithm IN ('rsa', 'ed25519')", name="algorithm_known"),
        CheckConstraint("state IN ('active', 'pending')", name="state_known"),
        {"sqlite_autoincrement": True},
    )


class DnsCheck(Table, table=True):
    """What the last `domains verify` found for one record a domain must publish. `record` names
    it stably (spf, dkim:SELECTOR, dmarc, return_path, tracking); `cause` says why it failed (no
    such name, no record of that type, wrong value, ...)."""

    __tablename__ = "dns_check"
    domain_id: int = Field(sa_column=Column(Integer, ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True))
    record: str = Field(sa_column=Column(String(80), primary_key=True))
    name: str = Field(sa_column=Column(String(255), nullable=False))  # the owner name looked up
    type: str = Field(sa_column=Column(String(8), nullable=False))  # TXT | CNAME
    state: str = Field(sa_column=Column(String(8), nullable=False))  # pending | verified | failed
    expected: str = Field(sa_column=Column(Text, nullable=False))
    found: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    cause: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_at: Optional[datetime] = Field(default=None, sa_column=_utc(nullable=True))
    __table_args__ = (CheckConstraint("state IN ('pending', 'verified', 'failed')", name="state_known"),)


class SmtpCredential(Table, table=True):
    """A domain's SMTP login. Secrets are stored only as Argon2id in Dovecot's `{ARGON2ID}$argon2id$...`
    form; during a grace period after a reset, `previous_hash` stays valid until `previous_until`."""

    __tablename__ = "smtp_credential"
    domain_id: int = Field(sa_column=Column(Integer, ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True))
    username: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    secret_hash: str = Field(sa_column=Column(Text, nullable=False))
    previous_hash: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    previous_until: Optional[datetime] = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    reset_at: datetime = Field(default_factory=_now, sa_column=_utc())


# -- usage against limits (issue 11) ----------------------------------------------------------
class UsageCounter(Table, table=True):
    """Sends, bounces and sends paid as overuse of one account in one UTC hour, day or month
    (`span`), the period named by its start. A recorded send adds to its hour, day and month rows
    at once, so an hourly row dropped after the retention period loses nothing the day and month
    rows do not hold. The index on (span, starts_at) serves the `--over` report (the current
    periods of every account) and the bounded pruning of old rows."""

    __tablename__ = "usage_counter"
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True))
    span: str = Field(sa_column=Column(String(8), primary_key=True))  # hour | day | month
    starts_at: datetime = Field(sa_column=_utc(primary_key=True))
    sent: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    bounced: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    overuse: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # sends paid with credits
    __table_args__ = (
        # (span, starts_at) for pruning; sent and account_id in it too, so `--over` reads the
        # current periods' counts past a floor as a range of this index alone
        Index("ix_usage_counter_span_start", "span", "starts_at", "sent", "account_id"),
        CheckConstraint(sql_in("span", USAGE_SPANS), name="span_known"),
        CheckConstraint("sent >= 0 AND bounced >= 0 AND bounced <= sent AND overuse >= 0 AND overuse <= sent", name="counts_valid"),
    )


class DomainUsage(Table, table=True):
    """Sends and bounces of one sending domain in one UTC month (its monthly cap counts these)."""

    __tablename__ = "domain_usage"
    domain_id: int = Field(sa_column=Column(Integer, ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True))
    starts_at: datetime = Field(sa_column=_utc(primary_key=True))
    sent: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    bounced: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    __table_args__ = (CheckConstraint("sent >= 0 AND bounced >= 0 AND bounced <= sent", name="counts_valid"),)


class ResourceUsage(Table, table=True):
    """A resource count as the platform last reported it (`users usage USER --set contacts=N`)."""

    __tablename__ = "resource_usage"
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True))
    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    reported_at: datetime = Field(default_factory=_now, sa_column=_utc())
    __table_args__ = (
        Index("ix_resource_usage_name_value", "name", "value", "account_id"),  # `--over`: a range per resource
        CheckConstraint("value >= 0", name="value_nonneg"),
    )
