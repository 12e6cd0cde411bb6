"""Users as people and scripts read them: lists, one user, limits with their source, bulk
reports, the package picker of the create wizard, and the bulk progress bar."""

from __future__ import annotations

import sys
from typing import Any

from mailadmin.render.output import Column, Format, console, emit_json, emit_list, emit_record, message, new_table

LIST_COLUMNS = [Column("id", justify="right"), Column("email"), Column("name"), Column("status"), Column("package"),
                Column("is_owner", "Owner"), Column("created_at", "Created")]


def row_json(row) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "name": row.name, "status": row.status, "package": row.package,
            "account_id": row.account_id, "is_owner": row.is_owner, "created_at": row.created_at}


def users_list(rows, fmt: Format, *, more: bool = False) -> None:
    if fmt is Format.ids:  # the pipeline case: no dicts, no Rich
        sys.stdout.writelines(f"{r.email}\n" for r in rows)
        return
    emit_list([row_json(r) for r in rows], LIST_COLUMNS, fmt, id_key="email", empty="no users match")
    if more and fmt is Format.table:
        message(f"showing the first {len(rows)}; use --limit N (0: all) and --offset N for more")


def limit_source(lim) -> str:
    from mailadmin.services.limits import display

    if lim.source == "override":
        return f"override (package: {display(lim.package_value)})"
    return "package"


def user_json(d) -> dict[str, Any]:
    from mailadmin.services.amounts import format_amount
    from mailadmin.services.limits import as_json

    return {
        "id": d.id,
        "email": d.email,
        "name": d.name,
        "status": d.status,
        "status_reason": d.status_reason,
        "package": d.package,
        "account_id": d.account_id,
        "is_owner": d.is_owner,
        "created_at": d.created_at,
        "plan_expires_at": d.plan_expires_at,
        "credit_balance": format_amount(d.credit_balance) if d.credit_balance is not None else None,
        "suspensions": [
            {"code": s.code, "reason": s.reason, "actor": s.actor, "started_at": s.started_at, "until": s.until}
            for s in d.suspensions
        ],
        "closed_reason": d.closed_reason,
        "closed_at": d.closed_at,
        "closed_by": d.closed_by,
        "ip_allow": d.ip_allow,
        "limits": as_json(d.limits),
    }


def user_show(d, fmt: Format) -> None:
    data = user_json(d)
    if fmt is Format.json:
        emit_json(data)
        return
    flat = {k: v for k, v in data.items() if k not in ("suspensions", "limits")}
    flat["suspensions"] = [
        f"{s['code']}: {s['reason']}" + (f" (until {_iso(s['until'])})" if s["until"] else "") for s in data["suspensions"]
    ]
    if fmt is Format.csv:
        flat.update({f"limit_{k}": v["value"] for k, v in data["limits"].items()})
        emit_record(flat, fmt)
        return
    if d.status_reason:
        flat["status"] = f"{d.status} ({d.status_reason})"
    fields = [Column("id"), Column("email"), Column("name"), Column("status"), Column("suspensions"), Column("package"),
              Column("is_owner", "Owner"), Column("account_id", "Account"), Column("plan_expires_at", "Plan expires"),
              Column("credit_balance", "Credits"), Column("ip_allow", "IP allow-list"), Column("created_at", "Created")]
    if d.closed_reason:
        fields[4:4] = [Column("closed_reason", "Closed because"), Column("closed_at", "Closed at")]
    emit_record(flat, fmt, fields=fields, title=f"user {d.email}")
    if d.limits:
        _limits_table(d.limits)


def _iso(value) -> str:
    from mailadmin.timeutil import iso

    return iso(value) or ""


def _limits_table(lims) -> None:
    from mailadmin.services.limits import display

    table = new_table("limits")
    table.add_column("limit")
    table.add_column("value", justify="right")
    table.add_column("source")
    for lim in lims:
        table.add_row(lim.name, str(display(lim.value)), limit_source(lim))
    console().print(table)


def limits_view(d, fmt: Format) -> None:
    """Every limit of the user's account: value and where it comes from."""
    from mailadmin.services.limits import display

    if fmt is Format.json:
        from mailadmin.services.limits import as_json

        emit_json({"user": d.email, "package": d.package, "limits": as_json(d.limits)})
        return
    if fmt is Format.csv:
        emit_list(
            [{"limit": lim.name, "value": display(lim.value), "source": lim.source, "package_value": display(lim.package_value)}
             for lim in d.limits],
            [Column("limit"), Column("value"), Column("source"), Column("package_value")],
            fmt,
        )
        return
    _limits_table(d.limits)
    message(f"{d.email} on package {d.package}: `--set NAME=VALUE` overrides, `--inherit NAME` goes back to the package")


def bulk_report(report, fmt: Format) -> None:
    """JSON on stdout with -o json; else a dry run lists the ids it would change on stdout.
    The one-line summary goes to stderr (the caller prints it, or raises it as the error)."""
    if fmt is Format.json:
        emit_json(report.as_json())
    elif report.dry_run:
        sys.stdout.writelines(f"{e}\n" for e in report.changed)


def package_picker(views) -> None:
    """The wizard's second step: the packages to choose from, numbered, on stderr."""
    table = new_table("step 2 of 2: choose a package")
    for col in ("#", "package", "role", "daily", "monthly", "credits", "expires after"):
        table.add_column(col)
    for i, v in enumerate(views, 1):
        data = v.as_json()
        table.add_row(str(i), v.name, v.role, str(data["limits"]["daily"]), str(data["limits"]["monthly"]),
                      f"{data['credit_cost']}/email" if v.credits_enabled else "off",
                      f"{v.expires_after} days" if v.expires_after else "never")
    console(stderr=True).print(table)
