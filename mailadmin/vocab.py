"""The product's fixed words, declared once: ledger kinds, statuses, suspension codes, limit names.

Light on purpose (no store, no Rich): the CLI builds its choices and completions from these, the
services enforce them, and the models derive their CHECK constraints from them (a test holds the
frozen migrations to the same lists).
"""

from __future__ import annotations

# -- the credits ledger ----------------------------------------------------------------------
TOPUP, SPEND, OVERUSE, REFUND, ADJUST = "topup", "spend", "overuse", "refund", "adjust"
LEDGER_KINDS = (TOPUP, SPEND, OVERUSE, REFUND, ADJUST)
CREDIT_KINDS = (TOPUP, REFUND)  # amount > 0: `credits add`
DEBIT_KINDS = (SPEND, OVERUSE)  # amount < 0, never below zero: `credits deduct`, a paid overuse
# ADJUST takes either sign and may go below zero: the one explicit correction


def sql_in(column: str, values: tuple[str, ...]) -> str:
    """`kind IN ('topup', 'refund')`: a CHECK constraint's text from a declared vocabulary."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# -- account status --------------------------------------------------------------------------
ACTIVE, SUSPENDED, CLOSED = "active", "suspended", "closed"
STATUSES = (ACTIVE, SUSPENDED, CLOSED)
STORED_STATUSES = (ACTIVE, CLOSED)  # "suspended" is derived from standing suspensions, never stored

SUSPENSION_CODES = ("billing", "abuse", "bounces", "manual", "security", "compliance", "expired")
DEFAULT_SUSPENSION_CODE = "manual"

# -- limits ----------------------------------------------------------------------------------
LIMIT_NAMES: tuple[str, ...] = (
    "hourly",
    "daily",
    "monthly",
    "contacts",
    "segments",
    "domains",
    "triggers",
    "evergreen_campaigns",
    "threads",
    "automation_actions",
    "automation_monthly",
    "suppressed_domains",
    "team_members",
)
UNLIMITED = "unlimited"

# -- lifecycle actions -----------------------------------------------------------------------
LIFECYCLE_ACTIONS = ("suspend", "unsuspend", "close", "reopen", "delete")

# -- package assets --------------------------------------------------------------------------
ASSET_KINDS = ("node", "bounce", "domain")  # sending nodes, bounce addresses, domains

# -- team and domains ------------------------------------------------------------------------
DOMAIN_ROLES = ("admin", "viewer")  # a member's role on one sending domain (seed 001)
DOMAIN_ADMIN, DOMAIN_VIEWER = DOMAIN_ROLES

# -- usage against limits --------------------------------------------------------------------
HOUR, DAY, MONTH = "hour", "day", "month"
USAGE_SPANS = (HOUR, DAY, MONTH)  # the UTC periods sends are counted in (usage_counter.span)
SENDING_LIMITS = ("hourly", "daily", "monthly")  # the limit each span's count is held to, in that order
COUNTED_LIMITS = ("domains", "team_members")  # counted from the store, never reported
# what the platform reports with `users usage USER --set NAME=N`: every other limit
RESOURCE_LIMITS: tuple[str, ...] = tuple(n for n in LIMIT_NAMES if n not in SENDING_LIMITS and n not in COUNTED_LIMITS)
BOUNCES = "bounces"  # the suspension code a bounce rate past the package's limit stands under
DEFAULT_BOUNCE_MIN_SENDS = 100
