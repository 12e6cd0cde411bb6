"""Users as people and scripts read them: lists, one user (with its team or its place in one),
limits with their source, IP allow-lists, lifecycle reports and their summaries, team changes, and
the package picker of the create wizard."""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import BULK_REPORT, Column, Format, Output, counted, view
from mailadmin.units import display_limit, format_amount, preview

USER_ROW = view("user_row", "id", "email", "name", "status", "package", "account_id", "is_owner", "created_at", "role")
USER = view("user", "id", "email", "name", "status", "status_reason", "package", "account_id", "is_owner", "created_at",
            "plan_expires_at", "credit_balance", "suspensions", "closed_reason", "closed_at", "closed_by", "ip_allow", "limits",
            "role", "owner", "members", "domain_grants", "plan_expired")
USER_MEMBER = view("user_member", "email", "role", "status")
USER_DOMAIN_GRANT = view("user_domain_grant", "domain", "role", "email_content")
SUSPENSION = view("suspension", "code", "reason", "actor", "started_at", "until")
LIMIT = view("limit", "value", "source", "package_value")
LIMIT_ROW = view("limit_row", "limit", "value", "source", "package_value")
USER_LIMITS = view("user_limits", "user", "package", "limits")
IP_ALLOWED = view("ip_allowed", "user", "ip_allow", "added", "unchanged")
IP_DENIED = view("ip_denied", "user", "ip_allow", "removed", "unchanged")
BULK_FAILURE = view("bulk_failure", "id", "error")

# A plain table keeps to what names a user, so a 60-column terminal still shows each email whole;
# -o wide (and csv) add the rest. --fields chooses among every field of USER_ROW.
LIST_COLUMNS = [Column("id", justify="right"), Column("email"), Column("name", wrap=True), Column("status"), Column("package"),
                Column("is_owner", "Owner", wide=True), Column("created_at", "Created", wide=True), Column("role", wide=True)]
# one account's team (`--account`): who holds which role is the point of the list
TEAM_COLUMNS = [Column("id", justify="right"), Column("email"), Column("name", wrap=True), Column("status"), Column("role"),
                Column("package", wide=True), Column("created_at", "Created", wide=True)]
LIMIT_COLUMNS = [Column("limit"), Column("value"), Column("source"), Column("package_value")]
SHOW_FIELDS = [Column("id"), Column("email"), Column("name"), Column("status"), Column("suspensions"), Column("package"),
               Column("is_owner", "Owner"), Column("account_id", "Account"), Column("plan_expires_at", "Plan expires"),
               Column("credit_balance", "Credits"), Column("ip_allow", "IP allow-list"), Column("created_at", "Created")]
OWNER_FIELDS = [Column("role", "Role"), Column("members", "Members")]  # after "Owner"
MEMBER_FIELDS = [Column("role", "Role"), Column("owner", "Account owner"), Column("domain_grants", "Domain grants")]
MEMBERS_SHOWN = 20  # a table names this many members; `users list --account` lists them all
CLOSED_FIELDS = [Column("closed_reason", "Closed because"), Column("closed_at", "Closed at")]

PAST = {"suspend": "suspended", "unsuspend": "unsuspended", "close": "closed", "reopen": "reopened", "delete": "deleted"}
FAILURE_TEXT = {"invalid": "not an email or #ID", "missing": "no such user"}


# -- lists -----------------------------------------------------------------------------------
def row_json(row) -> dict[str, Any]:
    return USER_ROW(id=row.id, email=row.email, name=row.name, status=row.status, package=row.package,
                    account_id=row.account_id, is_owner=row.is_owner, created_at=row.created_at, role=row.role)


def users_list(out: Output, rows, fmt: Format, *, cut_at: int | None = None, team: bool = False) -> None:
    """`cut_at`: the table was cut at that many rows (say so, and how to see the rest). `team`:
    the rows are one account's team, shown with their roles."""
    if fmt is Format.ids and not (out.listing.sort or out.listing.fields):  # the pipeline case: no dicts, no Rich
        out.lines([r.email for r in rows])
        return
    out.rows([row_json(r) for r in rows], TEAM_COLUMNS if team else LIST_COLUMNS, fmt, id_key="email",
             empty="no users match", shape=USER_ROW)
    if cut_at and fmt in (Format.table, Format.wide):
        out.message(f"showing the first {cut_at}; use --limit N (0: all) and --offset N for more")


# -- one user --------------------------------------------------------------------------------
def limit_json(lim) -> dict[str, Any]:
    return LIMIT(value=display_limit(lim.value), source=lim.source, package_value=display_limit(lim.package_value))


def limit_source(lim) -> str:
    if lim.source == "override":
        return f"override (package: {display_limit(lim.package_value)})"
    return "package"


def user_json(d) -> dict[str, Any]:
    return USER(
        id=d.id,
        email=d.email,
        name=d.name,
        status=d.status,
        status_reason=d.status_reason,
        package=d.package,
        account_id=d.account_id,
        is_owner=d.is_owner,
        created_at=d.created_at,
        plan_expires_at=d.plan_expires_at,
        credit_balance=format_amount(d.credit_balance) if d.credit_balance is not None else None,
        suspensions=[SUSPENSION(code=s.code, reason=s.reason, actor=s.actor, started_at=s.started_at, until=s.until)
                     for s in d.suspensions],
        closed_reason=d.closed_reason,
        closed_at=d.closed_at,
        closed_by=d.closed_by,
        ip_allow=d.ip_allow,
        limits={lim.name: limit_json(lim) for lim in d.limits},
        role=d.role,
        owner=d.owner,
        members=[USER_MEMBER(email=m.email, role=m.role, status=m.status) for m in d.members],
        domain_grants=[USER_DOMAIN_GRANT(domain=g.domain, role=g.role, email_content=g.email_content) for g in d.domain_grants],
        plan_expired=d.plan_expired,
    )


def user_show(out: Output, d, fmt: Format) -> None:
    data = user_json(d)
    if fmt is Format.json:
        out.json(data)
        return
    flat = {k: v for k, v in data.items() if k not in ("suspensions", "limits", "members", "domain_grants")}
    flat["suspensions"] = [
        f"{s['code']}: {s['reason']}" + (f" (until {_iso(s['until'])})" if s["until"] else "") for s in data["suspensions"]
    ]
    flat["members"] = [f"{m['email']} ({m['role']}, {m['status']})" for m in data["members"]]
    flat["domain_grants"] = [f"{g['domain']}: {g['role']}" + (", email content" if g["email_content"] else "")
                             for g in data["domain_grants"]]
    if fmt is Format.csv:
        flat.update({f"limit_{k}": v["value"] for k, v in data["limits"].items()})
        out.record(flat, fmt)
        return
    if d.status_reason:
        flat["status"] = f"{d.status} ({d.status_reason})"
    if d.plan_expired:
        flat["plan_expires_at"] = f"{_iso(d.plan_expires_at)} (expired: read-only)"
    if len(flat["members"]) > MEMBERS_SHOWN:
        flat["members"] = [*flat["members"][:MEMBERS_SHOWN],
                           f"and {len(d.members) - MEMBERS_SHOWN} more: `mailadmin users list --account {d.email}`"]
    # one member or grant a line: a comma-joined cell would fold in the middle of an email
    flat["members"] = "\n".join(flat["members"]) or "none"
    flat["domain_grants"] = "\n".join(flat["domain_grants"]) or "none"
    fields = list(SHOW_FIELDS)
    at = next(i for i, f in enumerate(fields) if f.key == "is_owner") + 1
    if d.is_owner:
        fields[at:at] = OWNER_FIELDS
    elif d.account_id is not None:
        fields[at:at] = MEMBER_FIELDS
    if d.closed_reason:
        fields[4:4] = CLOSED_FIELDS
    out.record(flat, fmt, fields=fields, title=f"user {d.email}")
    if d.limits:
        _limits_table(out, d.limits)


# -- team changes ----------------------------------------------------------------------------
def invited(out: Output, d, rejoined: bool, fmt: Format) -> None:
    """-o json prints the member as it is now; the change itself is said on stderr."""
    if fmt is Format.json:
        user_show(out, d, fmt)
    again = " (joined again; its history is kept)" if rejoined else ""
    out.message(f"invited {d.email} to the account of {d.owner} as {d.role}{again}")


def remove_question(removal) -> str:
    return f"remove {removal.email} from the account of {removal.owner}?"


def removed(out: Output, d, removal, fmt: Format) -> None:
    if fmt is Format.json:
        user_show(out, d, fmt)
    out.message(f"removed {d.email} from the account of {removal.owner}; the person stays in the system with its history")


def transfer_question(t) -> str:
    return f"transfer the account of {t.old_owner} to {t.new_owner}? {t.old_owner} stays as an admin member"


def transferred(out: Output, d, t, fmt: Format) -> None:
    """-o json prints the new owner as it is now (its members include the old owner)."""
    if fmt is Format.json:
        user_show(out, d, fmt)
    out.message(f"transferred the account of {t.old_owner} to {d.email}; {t.old_owner} is now an admin member")


def created(out: Output, d, fmt: Format) -> None:
    if fmt is Format.json:
        user_show(out, d, fmt)
    else:
        out.message(f"created {d.email} on package {d.package} (account #{d.account_id})")


def edited(out: Output, d, changes: dict[str, dict], fmt: Format) -> None:
    """-o json prints the user as it is now; the change itself is said on stderr."""
    if fmt is Format.json:
        user_show(out, d, fmt)
    if changes:
        out.message(f"updated {d.email}: " + ", ".join(f"{k} {_short(c['before'])} -> {_short(c['after'])}" for k, c in changes.items()))
    else:
        out.message(f"{d.email} unchanged: it already has those values")


def _short(value) -> str:
    if value is None:
        return "none"
    return _iso(value) if hasattr(value, "tzinfo") else repr(value) if isinstance(value, str) else str(value)


def _iso(value) -> str:
    from mailadmin.timeutil import iso

    return iso(value) or ""


# -- limits ----------------------------------------------------------------------------------
LIMIT_TABLE = [Column("limit", "limit"), Column("value", "value", justify="right"), Column("source", "source", wrap=True)]


def _limits_table(out: Output, lims) -> None:
    """Names and values whole at any width; the source sentence wraps between words."""
    out.rows([{"limit": lim.name, "value": display_limit(lim.value), "source": limit_source(lim)} for lim in lims],
             LIMIT_TABLE, Format.table, title="limits")


def already_inherited(out: Output, names: list[str]) -> None:
    for name in names:
        out.message(f"{name} already inherits from the package")


def limits_view(out: Output, d, fmt: Format) -> None:
    """Every limit of the user's account: value and where it comes from."""
    if fmt is Format.json:
        out.json(USER_LIMITS(user=d.email, package=d.package, limits={lim.name: limit_json(lim) for lim in d.limits}))
        return
    if fmt is Format.csv:
        out.rows([LIMIT_ROW(limit=lim.name, **limit_json(lim)) for lim in d.limits], LIMIT_COLUMNS, fmt)
        return
    _limits_table(out, d.limits)
    out.message(f"{d.email} on package {d.package}: `--set NAME=VALUE` overrides, `--inherit NAME` goes back to the package")


# -- IP allow-lists --------------------------------------------------------------------------
def ip_allowed(out: Output, change, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(IP_ALLOWED(user=change.user, ip_allow=change.ip_allow, added=change.done, unchanged=change.unchanged))
    _ip_messages(out, change, "added", "already on")


def ip_denied(out: Output, change, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(IP_DENIED(user=change.user, ip_allow=change.ip_allow, removed=change.done, unchanged=change.unchanged))
    _ip_messages(out, change, "removed", "not on")


def _ip_messages(out: Output, change, verb: str, where: str) -> None:
    if change.unchanged:
        out.message(f"{where} the list: {', '.join(change.unchanged)}")
    out.message(f"{verb} {len(change.done)}; allow-list now: {', '.join(change.ip_allow) or 'empty (every address allowed)'}")


# -- lifecycle runs --------------------------------------------------------------------------
def bulk_json(report) -> dict[str, Any]:
    return BULK_REPORT(changed=report.changed, unchanged=report.unchanged,
                       failed=[BULK_FAILURE(id=f.ref, error=FAILURE_TEXT[f.problem]) for f in report.failed])


def bulk_report(out: Output, report, fmt: Format) -> None:
    """JSON on stdout with -o json; else a dry run lists the emails it would change on stdout.
    The one-line summary goes to stderr (the caller prints it, or raises it as the error)."""
    if fmt is Format.json:
        out.json(bulk_json(report))
    elif report.dry_run:
        out.lines(report.changed)


def bulk_summary(report) -> str:
    """`suspended 3 users; 1 unchanged (1 closed); 2 failed`, or the one email when it is alone."""
    n = len(report.changed)
    who = report.changed[0] if n == 1 and not report.unchanged and not report.failed else f"{n} user{'s' if n != 1 else ''}"
    line = f"dry run: would {report.action} {who}" if report.dry_run else f"{PAST[report.action]} {who}"
    if report.unchanged:
        why = ", ".join(f"{count} {reason}" for reason, count in report.unchanged_why.items())
        line += f"; {len(report.unchanged)} unchanged ({why})"
    if report.failed:
        line += f"; {len(report.failed)} failed"
    if report.dry_run:
        line += "; nothing changed"
    return line


def bulk_question(report) -> str:
    """`suspend 40 users?` (one user: its email), from the dry run made before asking; what the
    run would leave alone or could not find is named too."""
    n = len(report.changed)
    who = report.changed[0] if n == 1 else counted(n, "user")
    extra = []
    if report.unchanged:
        extra.append(f"{len(report.unchanged)} unchanged")
    if report.failed:
        extra.append(f"{len(report.failed)} failed")
    return f"{report.action} {who}" + (f" ({', '.join(extra)})" if extra else "") + "?"


def bulk_failure(report) -> str:
    """The error line of a run where some references failed (with --skip-missing): exit 1."""
    return f"{bulk_summary(report)}: {preview([f.ref for f in report.failed])}"


# -- the create wizard -----------------------------------------------------------------------
def wizard_note(out: Output, text: str) -> None:
    """A step or a correction of the wizard: part of the conversation, so -q does not hide it."""
    out.stderr.write(text + "\n")


def package_picker(out: Output, views) -> None:
    """The wizard's second step: the packages to choose from, numbered, on stderr."""
    table = out.table("step 2 of 2: choose a package")
    for col in ("#", "package", "role", "daily", "monthly", "credits", "expires after"):
        table.add_column(col, overflow="fold")  # folded at a narrow terminal, never cut
    for i, v in enumerate(views, 1):
        table.add_row(str(i), v.name, v.role, str(display_limit(v.limits.get("daily"))), str(display_limit(v.limits.get("monthly"))),
                      f"{format_amount(v.credit_cost)}/email" if v.credits_enabled else "off",
                      f"{v.expires_after} days" if v.expires_after else "never")
    out.print(table, stderr=True)
