"""The store's tables, as SQLModel classes.

Conventions every table keeps:
- times are UTC (`UTCDateTime` reattaches the zone SQLite drops);
- credit amounts are integers of 1/10000 credit (SQLite's Decimal goes through float);
- a limit value of NULL means `unlimited`;
- ids of accounts and users are never reused (AUTOINCREMENT on SQLite), because ledger and
  audit entries outlive the rows they name;
- every constraint is named (the metadata naming convention) so batch migrations can alter it.

`table=True` models skip validation (fastapi/sqlmodel#453): services validate input first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.types import TypeDecorator
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from mailadmin.vocab import DOMAIN_ROLES, sql_in

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class Table(SQLModel):
    """Base of every table model. Pydantic's validation schema is built only if something
    validates through it (table models never do: fastapi/sqlmodel#453), which saves about
    60 ms of every command's start-up."""

    model_config = ConfigDict(defer_build=True)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timeutil.utcnow()")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _utc(nullable: bool = False, **kw) -> Column:
    return Column(UTCDateTime(), nullable=nullable, **kw)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- roles ---------------------------------------------------------------------------------
class Role(Table, table=True):
    __tablename__ = "role"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    builtin: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())


class RoleGrant(Table, table=True):
    """One granted catalog key of a role; stored compressed (a whole area is one row)."""

    __tablename__ = "role_grant"
    role_id: int = Field(sa_column=Column(Integer, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True))
    key: str = Field(sa_column=Column(String(128), primary_key=True))


# -- packages ------------------------------------------------------------------------------
class Package(Table, table=True):
    __tablename__ = "package"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # the role caps what every account on the package may ever do; RESTRICT: a role in use stays
    role_id: int = Field(sa_column=Column(Integer, ForeignKey("role.id", ondelete="RESTRICT"), nullable=False, index=True))
    credits_enabled: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    credit_cost: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # 1/10000 credit
    allow_overuse: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    bounce_limit: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))  # 1/100 percent
    # sends a day or month must hold before its bounce rate counts (one bounce in two sends is noise)
    bounce_min_sends: int = Field(default=100, sa_column=Column(Integer, nullable=False, server_default="100"))
    expires_after_days: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    __table_args__ = (
        CheckConstraint("credit_cost >= 0", name="credit_cost_nonneg"),
        CheckConstraint("bounce_limit IS NULL OR (bounce_limit >= 0 AND bounce_limit <= 10000)", name="bounce_limit_pct"),
        CheckConstraint("bounce_min_sends >= 0", name="bounce_min_sends_nonneg"),
        CheckConstraint("expires_after_days IS NULL OR expires_after_days > 0", name="expires_after_pos"),
    )


# -- accounts and users --------------------------------------------------------------------
class Account(Table, table=True):
    """A client account: what the owner and the team share (package, overrides, credits)."""

    __tablename__ = "account"
    id: Optional[int] = Field(default=None, primary_key=True)
    package_id: int = Field(sa_column=Column(Integer, ForeignKey("package.id", ondelete="RESTRICT"), nullable=False, index=True))
    credit_balance: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # 1/10000
    plan_expires_at: Optional[datetime] = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    __table_args__ = ({"sqlite_autoincrement": True},)


class User(Table, table=True):
    """A person. An owner has is_owner and an account; a member has an account and a role;
    a removed member keeps the row with neither (seed 001: they stay in the system)."""

    __tablename__ = "user"
    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))  # normalised, lower-case
    name: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))
    account_id: Optional[int] = Field(
        default=None, sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True, index=True)
    )
    is_owner: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    role_id: Optional[int] = Field(
        default=None, sa_column=Column(Integer, ForeignKey("role.id", ondelete="RESTRICT"), nullable=True, index=True)
    )
    # active | closed; "suspended" is derived from standing Suspension rows, never stored
    status: str = Field(default="active", sa_column=Column(String(16), nullable=False, server_default="active"))
    closed_reason: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    closed_by: Optional[str] = Field(default=None, sa_column=Column(String(200), nullable=True))
    closed_at: Optional[datetime] = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc(index=True))
    __table_args__ = (
        CheckConstraint("status IN ('active', 'closed')", name="status_known"),
        # One owner per account: the partial unique index `uq_user_account_owner` (account_id
        # WHERE is_owner) is created by migration 0001 only. Declaring it here would make every
        # command import the PostgreSQL dialect (~30 ms) to validate `postgresql_where`.
        {"sqlite_autoincrement": True},
    )


class Suspension(Table, table=True):
    """A suspension record. It stands while not lifted and its `until` (if any) is in the future."""

    __tablename__ = "suspension"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True))
    code: str = Field(sa_column=Column(String(32), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    started_at: datetime = Field(default_factory=_now, sa_column=_utc())
    until: Optional[datetime] = Field(default=None, sa_column=_utc(nullable=True))
    lifted_at: Optional[datetime] = Field(default=None, sa_column=_utc(nullable=True))
    lifted_by: Optional[str] = Field(default=None, sa_column=Column(String(200), nullable=True))


# -- sending domains and grants ------------------------------------------------------------
class Domain(Table, table=True):
    """A sending domain of one account. `name` is the IDNA A-label form, lower-case, without a
    trailing dot. DKIM keys, DNS check results and SMTP credentials live in their own tables
    keyed by domain_id (a key rotates through a pending selector; a secret has a grace period),
    so a domain row holds only what is one value per domain: its settings."""

    __tablename__ = "domain"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(253), nullable=False, unique=True))
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True))
    open_tracking: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    click_tracking: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    unsubscribe_footer: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    monthly_cap: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # NULL: unlimited
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    __table_args__ = (
        CheckConstraint("monthly_cap IS NULL OR monthly_cap >= 0", name="monthly_cap_nonneg"),
        {"sqlite_autoincrement": True},
    )


class DomainGrant(Table, table=True):
    """A team member's role on one domain (seed 001's Domain Admin / Domain Viewer), and whether
    they may read email bodies there."""

    __tablename__ = "domain_grant"
    domain_id: int = Field(sa_column=Column(Integer, ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    email_content: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    __table_args__ = (CheckConstraint(sql_in("role", DOMAIN_ROLES), name="role_known"),)


# -- operators -----------------------------------------------------------------------------
class OperatorRole(Table, table=True):
    """A set of admin permissions (admin_catalog.toml) an operator may hold (seed 002)."""

    __tablename__ = "operator_role"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    builtin: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())


class OperatorRoleGrant(Table, table=True):
    __tablename__ = "operator_role_grant"
    role_id: int = Field(sa_column=Column(Integer, ForeignKey("operator_role.id", ondelete="CASCADE"), primary_key=True))
    key: str = Field(sa_column=Column(String(64), primary_key=True))


class Operator(Table, table=True):
    """A person who runs mailadmin, by OS login. Once one exists, every command's runner must be one."""

    __tablename__ = "operator"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    role_id: int = Field(sa_column=Column(Integer, ForeignKey("operator_role.id", ondelete="RESTRICT"), nullable=False, index=True))
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())


# Tables most commands never touch live in records.py (see there); their names resolve from here.
RECORDS = ("PackageLimit", "PackageAsset", "AccountLimit", "AccountIP", "CreditEntry", "AuditEntry", "AuditHead",
           "DkimKey", "DnsCheck", "SmtpCredential", "UsageCounter", "DomainUsage", "ResourceUsage")


def __getattr__(name: str):
    if name in RECORDS:
        from mailadmin.store import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
