"""Sending domains as people and scripts read them: the list, one domain with its settings and
grants, and what add, remove, grant and revoke did."""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Column, Format, Output, counted, view

DOMAIN_ROW = view("domain_row", "id", "name", "unicode", "owner", "account_id", "members", "created_at")
DOMAIN = view("domain", "id", "name", "unicode", "owner", "account_id", "open_tracking", "click_tracking",
              "unsubscribe_footer", "monthly_cap", "created_at", "grants")
DOMAIN_GRANT = view("domain_grant", "member", "role", "email_content", "created_at")
GRANT_CHANGE = view("grant_change", "domain", "member", "role", "email_content", "result")

LIST_COLUMNS = [Column("name"), Column("unicode", wide=True), Column("owner"), Column("members", justify="right"),
                Column("created_at", "Created"), Column("id", justify="right", wide=True)]
SHOW_FIELDS = [Column("name"), Column("unicode"), Column("owner", "Account owner"), Column("open_tracking", "Open tracking"),
               Column("click_tracking", "Click tracking"), Column("unsubscribe_footer", "Unsubscribe footer"),
               Column("monthly_cap", "Monthly cap"), Column("created_at", "Created")]
GRANT_COLUMNS = [Column("member"), Column("role"), Column("email_content", "Email content"), Column("created_at", "Granted")]


def _label(name: str, unicode: str) -> str:
    """`xn--bcher-kva.example (bücher.example)`: a person reads the Unicode form too."""
    return name if unicode == name else f"{name} ({unicode})"


# -- lists -----------------------------------------------------------------------------------
def domains_list(out: Output, rows, fmt: Format, *, cut_at: int | None = None) -> None:
    data = [DOMAIN_ROW(id=r.id, name=r.name, unicode=r.unicode, owner=r.owner, account_id=r.account_id, members=r.members,
                       created_at=r.created_at) for r in rows]
    out.rows(data, LIST_COLUMNS, fmt, id_key="name", empty="no domains match", shape=DOMAIN_ROW)
    if cut_at and fmt in (Format.table, Format.wide):
        out.message(f"showing the first {cut_at}; use --limit N (0: all) and --offset N for more")


# -- one domain ------------------------------------------------------------------------------
def grant_json(g) -> dict[str, Any]:
    return DOMAIN_GRANT(member=g.member, role=g.role, email_content=g.email_content, created_at=g.created_at)


def domain_json(d) -> dict[str, Any]:
    return DOMAIN(id=d.id, name=d.name, unicode=d.unicode, owner=d.owner, account_id=d.account_id,
                  open_tracking=d.open_tracking, click_tracking=d.click_tracking, unsubscribe_footer=d.unsubscribe_footer,
                  monthly_cap=d.monthly_cap, created_at=d.created_at, grants=[grant_json(g) for g in d.grants])


def domain_show(out: Output, d, fmt: Format) -> None:
    data = domain_json(d)
    if fmt is Format.json:
        out.json(data)
        return
    if fmt is Format.csv:
        flat = {k: v for k, v in data.items() if k != "grants"}
        flat["grants"] = [f"{g.member}: {g.role}" + (" +email content" if g.email_content else "") for g in d.grants]
        out.record(flat, fmt, fields=[Column(k) for k in flat])
        return
    out.record(data, fmt, fields=SHOW_FIELDS, title=f"domain {_label(d.name, d.unicode)}")
    if d.grants:
        out.rows([grant_json(g) for g in d.grants], GRANT_COLUMNS, Format.table, title="grants")
    else:
        out.message(f"no member holds a grant on {d.name}; the owner and admins reach it through their roles")


def added(out: Output, d, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(domain_json(d))
    else:
        out.message(f"added domain {_label(d.name, d.unicode)} to {d.owner}'s account")


def removed(out: Output, d) -> None:
    extra = f" and {counted(len(d.grants), 'grant')}" if d.grants else ""
    out.message(f"removed domain {_label(d.name, d.unicode)}{extra} from {d.owner}'s account")


def removal_question(d) -> str:
    grants = f" ({counted(len(d.grants), 'member grant')} go with it)" if d.grants else ""
    return f"remove domain {d.name} of {d.owner}'s account{grants}?"


# -- grants ----------------------------------------------------------------------------------
def _grant_words(role: str, email_content: bool) -> str:
    return role + (" with email content" if email_content else "")


def granted(out: Output, change, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(GRANT_CHANGE(domain=change.domain, member=change.member, role=change.role,
                              email_content=change.email_content, result=change.result))
    now = _grant_words(change.role, change.email_content)
    if change.result == "unchanged":
        out.message(f"{change.member} already is {now} of {change.domain}; nothing changed")
    elif change.result == "updated":
        was = _grant_words(change.before["role"], change.before["email_content"])
        out.message(f"{change.member} is now {now} of {change.domain} (was {was})")
    else:
        out.message(f"{change.member} is now {now} of {change.domain}")


def revoked(out: Output, change) -> None:
    out.message(f"revoked {change.member}'s grant on {change.domain} ({_grant_words(change.role, change.email_content)}); "
                f"they stay on the team")
