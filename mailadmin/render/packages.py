"""Packages as people and scripts read them: lists, one package, and what an edit reaches."""

from __future__ import annotations

from typing import Any

from mailadmin.render.access import impact_report, impact_rows
from mailadmin.render.output import Column, Format, Output, counted, view
from mailadmin.units import display_limit, format_amount, format_percent

PACKAGE = view("package", "name", "description", "role", "limits", "credits_enabled", "credit_cost", "allow_overuse",
               "bounce_limit", "bounce_min_sends", "expires_after", "assets", "accounts", "created_at")
EDIT_REPORT = view("package_edit", "package", "dry_run", "changes", "affected", "keeping_override", "accounts", "permissions")
EDIT_ACCOUNT = view("package_edit_account", "account_id", "owner", "affected", "inherits", "keeps_override")
ASSET = view("package_asset", "kind", "value")

LIST_COLUMNS = [
    Column("name"), Column("role"), Column("accounts", justify="right"), Column("hourly", justify="right", wide=True),
    Column("daily", justify="right"), Column("monthly", justify="right"), Column("credits", wrap=True),
    Column("bounce_limit_pct", "Bounce limit", justify="right", wide=True),
    Column("bounce_min_sends", "Bounce min sends", justify="right", wide=True),
    Column("expires_after", "Expires after (days)", justify="right", wide=True),
]
SHOW_FIELDS = [
    Column("name"), Column("description"), Column("role"), Column("accounts"), Column("credits_enabled", "Credits"),
    Column("credit_cost", "Credit cost"), Column("allow_overuse", "Allow overuse"), Column("bounce_limit", "Bounce limit"),
    Column("bounce_min_sends", "Bounce rate counts from (sends)"), Column("expires_after", "Expires after"), Column("assets_node", "Sending nodes"),
    Column("assets_bounce", "Bounce addresses"), Column("assets_domain", "Domains"), Column("created_at", "Created"),
]
CHANGE_COLUMNS = [Column("field"), Column("before"), Column("after")]
ACCOUNT_COLUMNS = [Column("owner"), Column("account_id", "Account", justify="right"), Column("affected"),
                   Column("inherits", "Inherits (changes)", wrap=True), Column("keeps_override", "Keeps override", wrap=True)]


def package_json(v) -> dict[str, Any]:
    """One package as the JSON API spells it (also what other groups show of a package)."""
    return PACKAGE(
        name=v.name, description=v.description, role=v.role, limits={k: display_limit(n) for k, n in v.limits.items()},
        credits_enabled=v.credits_enabled, credit_cost=format_amount(v.credit_cost), allow_overuse=v.allow_overuse,
        bounce_limit=format_percent(v.bounce_limit), bounce_min_sends=v.bounce_min_sends, expires_after=v.expires_after,
        assets=v.assets,
        accounts=v.accounts, created_at=v.created_at,
    )


def credits_cell(data: dict[str, Any]) -> str:
    if not data["credits_enabled"]:
        return "off"
    return f"{data['credit_cost']}/email" + (", overuse" if data["allow_overuse"] else "")


def packages_list(out: Output, views, fmt: Format) -> None:
    rows = []
    for v in views:
        data = package_json(v)
        if fmt is not Format.json:  # tables and csv flatten limits and spell credits and percentages
            data = {**data, **data["limits"], "credits": credits_cell(data),
                    "bounce_limit_pct": f"{data['bounce_limit']} %" if data["bounce_limit"] is not None else ""}
        rows.append(data)
    out.rows(rows, LIST_COLUMNS, fmt, id_key="name",
             empty="no packages yet; create one with `mailadmin packages create NAME --role ROLE`")


def package_show(out: Output, v, fmt: Format) -> None:
    data = package_json(v)
    if fmt is Format.json:
        out.json(data)
        return
    flat = {k: value for k, value in data.items() if k not in ("limits", "assets")}
    flat["bounce_limit"] = f"{data['bounce_limit']} %" if data["bounce_limit"] is not None else "none"
    flat["expires_after"] = f"{data['expires_after']} days" if data["expires_after"] else "never"
    for kind, values in data["assets"].items():
        flat[f"assets_{kind}"] = values
    flat.update({f"limit_{k}": value for k, value in data["limits"].items()})
    if fmt is Format.csv:
        out.record(flat, fmt)
        return
    out.record(flat, fmt, fields=SHOW_FIELDS, title=f"package {v.name}")
    table = out.table("limits (source: package)")
    table.add_column("limit")
    table.add_column("value", justify="right")
    for name, value in data["limits"].items():
        table.add_row(name, str(value))
    out.print(table)


def created(out: Output, v, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(package_json(v))
    else:
        out.message(f"created package {v.name} (role {v.role})")


def edit_json(result) -> dict[str, Any]:
    return EDIT_REPORT(
        package=result.view.name,
        dry_run=result.dry_run,
        changes=result.changes,
        affected=result.affected,
        keeping_override=result.keeping_override,
        accounts=[_account_json(a) for a in result.accounts],
        permissions=impact_rows(result.permissions),
    )


def _account_json(a) -> dict[str, Any]:
    return EDIT_ACCOUNT(account_id=a.account_id, owner=a.owner, affected=a.affected, inherits=a.inherits,
                        keeps_override=a.keeps_override)


def edit_summary(result) -> str:
    name = result.view.name
    if not result.changes:
        return f"package {name} unchanged: nothing differs from what it has"
    return (
        f"{'dry run: ' if result.dry_run else ''}package {name}: {len(result.changes)} change(s) "
        f"{'would reach' if result.dry_run else 'reach'} {result.affected} of {len(result.accounts)} account(s)"
        + (f"; {result.keeping_override} keep an override" if result.keeping_override else "")
        + ("; nothing changed" if result.dry_run else "")
    )


def edit_report(out: Output, result, fmt: Format) -> None:
    """What an edit changed (or, with --dry-run, would change) and which accounts it reaches."""
    if fmt is Format.json:
        out.json(edit_json(result))
    elif result.changes and result.dry_run:
        if fmt is Format.table:
            out.rows([{"field": k, **c} for k, c in result.changes.items()], CHANGE_COLUMNS, fmt)
        rows = [{**_account_json(a), "owner": a.owner or ""} for a in result.accounts]
        out.rows(rows, ACCOUNT_COLUMNS, fmt, empty="no accounts on this package")
        if "role" in result.changes:
            impact_report(out, f"role {result.changes['role']['before']} -> {result.changes['role']['after']}",
                          result.permissions, fmt, dry_run=True)
    out.message(edit_summary(result))


def deleted(out: Output, deletion, *, dry_run: bool = False) -> None:
    if dry_run:
        moving = f"; would move {counted(deletion.moved, 'account')} to {deletion.reassigned_to}" if deletion.moved else ""
        out.message(f"dry run: would delete package {deletion.name}{moving}; nothing changed")
        return
    moved = f"; moved {deletion.moved} account(s) to {deletion.reassigned_to}" if deletion.moved else ""
    out.message(f"deleted package {deletion.name}{moved}")


def delete_question(plan) -> str:
    moving = f", moving its {counted(plan.moved, 'account')} to {plan.reassigned_to}" if plan.moved else ""
    return f"delete package {plan.name}{moving}?"


def assets(out: Output, v, fmt: Format, change=None) -> None:
    """A package's assets, after the notes on what a change found already so."""
    if change is not None:
        for kind, value in change.already:
            out.message(f"{kind}={value} was already assigned")
        for kind, value in change.absent:
            out.message(f"{kind}={value} was not assigned")
    rows = [ASSET(kind=kind, value=value) for kind, values in v.assets.items() for value in values]
    out.rows(rows, [Column("kind"), Column("value")], fmt, empty=f"package {v.name} pre-assigns no assets")
