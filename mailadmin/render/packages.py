"""Packages as people and scripts read them: lists, one package, and what an edit reaches."""

from __future__ import annotations

from mailadmin.render.output import Column, Format, console, emit_json, emit_list, emit_record, message, new_table


def _credits_cell(data: dict) -> str:
    if not data["credits_enabled"]:
        return "off"
    return f"{data['credit_cost']}/email" + (", overuse" if data["allow_overuse"] else "")


def packages_list(views, fmt: Format) -> None:
    rows = []
    for v in views:
        data = v.as_json()
        flat = dict(data)
        for name, value in data["limits"].items():
            flat[name] = value
        flat["credits"] = _credits_cell(data)
        flat["bounce_limit_pct"] = f"{data['bounce_limit']} %" if data["bounce_limit"] is not None else ""
        rows.append(data if fmt is Format.json else flat)
    emit_list(
        rows,
        [Column("name"), Column("role"), Column("accounts", justify="right"), Column("hourly", justify="right"),
         Column("daily", justify="right"), Column("monthly", justify="right"), Column("credits"),
         Column("bounce_limit_pct", "Bounce limit", justify="right"), Column("expires_after", "Expires after (days)", justify="right")],
        fmt,
        id_key="name",
        empty="no packages yet; create one with `mailadmin packages create NAME --role ROLE`",
    )


def package_show(view, fmt: Format) -> None:
    data = view.as_json()
    if fmt is Format.json:
        emit_json(data)
        return
    flat = {k: v for k, v in data.items() if k not in ("limits", "assets")}
    flat["bounce_limit"] = f"{data['bounce_limit']} %" if data["bounce_limit"] is not None else "none"
    flat["expires_after"] = f"{data['expires_after']} days" if data["expires_after"] else "never"
    for kind, values in data["assets"].items():
        flat[f"assets_{kind}"] = values
    flat.update({f"limit_{k}": v for k, v in data["limits"].items()})
    if fmt is Format.csv:
        emit_record(flat, fmt)
        return
    fields = [Column("name"), Column("description"), Column("role"), Column("accounts"), Column("credits_enabled", "Credits"),
              Column("credit_cost", "Credit cost"), Column("allow_overuse", "Allow overuse"), Column("bounce_limit", "Bounce limit"),
              Column("expires_after", "Expires after"), Column("assets_node", "Sending nodes"),
              Column("assets_bounce", "Bounce addresses"), Column("assets_domain", "Domains"), Column("created_at", "Created")]
    emit_record(flat, fmt, fields=fields, title=f"package {view.name}")
    table = new_table("limits (source: package)")
    table.add_column("limit")
    table.add_column("value", justify="right")
    for name, value in data["limits"].items():
        table.add_row(name, str(value))
    console().print(table)


def edit_json(result) -> dict:
    return {
        "package": result.view.name,
        "dry_run": result.dry_run,
        "changes": result.changes,
        "affected": result.affected,
        "keeping_override": result.keeping_override,
        "accounts": [
            {"account_id": a.account_id, "owner": a.owner, "affected": result.all_accounts_affected or a.affected,
             "inherits": a.inherits, "keeps_override": a.keeps_override}
            for a in result.accounts
        ],
    }


def edit_report(result, fmt: Format) -> None:
    """What an edit changed (or, with --dry-run, would change) and which accounts it reaches."""
    name = result.view.name
    if not result.changes:
        if fmt is Format.json:
            emit_json(edit_json(result))
        message(f"package {name} unchanged: nothing differs from what it has")
        return
    summary = (
        f"{'dry run: ' if result.dry_run else ''}package {name}: {len(result.changes)} change(s) "
        f"{'would reach' if result.dry_run else 'reach'} {result.affected} of {len(result.accounts)} account(s)"
        + (f"; {result.keeping_override} keep an override" if result.keeping_override else "")
        + ("; nothing changed" if result.dry_run else "")
    )
    if fmt is Format.json:
        emit_json(edit_json(result))
    elif result.dry_run:
        if fmt is Format.table:
            emit_list(
                [{"field": k, "before": c["before"], "after": c["after"]} for k, c in result.changes.items()],
                [Column("field"), Column("before"), Column("after")],
                fmt,
            )
        rows = [
            {"account_id": a.account_id, "owner": a.owner or "", "affected": result.all_accounts_affected or a.affected,
             "inherits": a.inherits, "keeps_override": a.keeps_override}
            for a in result.accounts
        ]
        emit_list(rows, [Column("owner"), Column("account_id", "Account", justify="right"), Column("affected"),
                         Column("inherits", "Inherits (changes)"), Column("keeps_override", "Keeps override")],
                  fmt, empty="no accounts on this package")
    message(summary)
