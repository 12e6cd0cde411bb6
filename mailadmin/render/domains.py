"""Sending domains as people and scripts read them: the list, one domain with its settings,
grants, DKIM keys, verification and SMTP login, what add, remove, set, grant and revoke did, and
SMTP credentials (the one place a password is ever printed: once, by `credentials --reset`)."""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Column, Format, Output, counted, view

DOMAIN_ROW = view("domain_row", "id", "name", "unicode", "owner", "account_id", "members", "verification", "checked_at",
                  "open_tracking", "click_tracking", "unsubscribe_footer", "monthly_cap", "created_at")
DOMAIN = view("domain", "id", "name", "unicode", "owner", "account_id", "open_tracking", "click_tracking",
              "unsubscribe_footer", "monthly_cap", "created_at", "grants", "dkim_keys", "verification", "credentials")
DOMAIN_GRANT = view("domain_grant", "member", "role", "email_content", "created_at")
DOMAIN_KEY = view("domain_key", "selector", "algorithm", "bits", "state", "created_at", "dns_state")
DOMAIN_VERIFICATION = view("domain_verification", "state", "checked_at", "records")
DOMAIN_CHECK = view("domain_check", "record", "state", "cause", "checked_at")
# never a password or a hash: what `credentials DOMAIN` and `show` say about the login
DOMAIN_CREDENTIALS = view("domain_credentials", "domain", "username", "created_at", "reset_at", "previous_live",
                          "previous_until")
# the only shape holding a password: `credentials DOMAIN --reset`, printed once
SMTP_SECRET = view("smtp_secret", "domain", "username", "password", "created", "created_at", "reset_at", "previous_until")
GRANT_CHANGE = view("grant_change", "domain", "member", "role", "email_content", "result")

LIST_COLUMNS = [Column("name"), Column("unicode", wide=True), Column("owner"), Column("members", justify="right"),
                Column("verification", "DNS"), Column("checked_at", "Checked", wide=True),
                Column("open_tracking", "Opens", wide=True), Column("click_tracking", "Clicks", wide=True),
                Column("unsubscribe_footer", "Footer", wide=True),
                Column("monthly_cap", "Monthly cap", justify="right", wide=True),
                Column("created_at", "Created"), Column("id", justify="right", wide=True)]
SHOW_FIELDS = [Column("name"), Column("unicode"), Column("owner", "Account owner"), Column("open_tracking", "Open tracking"),
               Column("click_tracking", "Click tracking"), Column("unsubscribe_footer", "Unsubscribe footer"),
               Column("monthly_cap", "Monthly cap"), Column("verification", "Verification"),
               Column("credentials", "SMTP login"), Column("created_at", "Created")]
GRANT_COLUMNS = [Column("member"), Column("role"), Column("email_content", "Email content"), Column("created_at", "Granted")]
KEY_COLUMNS = [Column("selector"), Column("algorithm"), Column("bits", justify="right"), Column("state"),
               Column("dns_state", "DNS"), Column("created_at", "Created")]
CHECK_COLUMNS = [Column("record"), Column("state"), Column("cause", wrap=True), Column("checked_at", "Checked")]
CREDENTIAL_FIELDS = [Column("domain"), Column("username", "Username"), Column("created_at", "Created"),
                     Column("reset_at", "Last reset"), Column("previous_live", "Previous secret live"),
                     Column("previous_until", "Previous secret until")]
SETTING_WORDS = {"open_tracking": "open tracking", "click_tracking": "click tracking",
                 "unsubscribe_footer": "unsubscribe footer", "monthly_cap": "monthly cap"}


def _label(name: str, unicode: str) -> str:
    """`xn--bcher-kva.example (bücher.example)`: a person reads the Unicode form too."""
    return name if unicode == name else f"{name} ({unicode})"


# -- lists -----------------------------------------------------------------------------------
def domains_list(out: Output, rows, fmt: Format, *, cut_at: int | None = None) -> None:
    data = [DOMAIN_ROW(id=r.id, name=r.name, unicode=r.unicode, owner=r.owner, account_id=r.account_id, members=r.members,
                       verification=r.verification, checked_at=r.checked_at, open_tracking=r.open_tracking,
                       click_tracking=r.click_tracking, unsubscribe_footer=r.unsubscribe_footer, monthly_cap=r.monthly_cap,
                       created_at=r.created_at) for r in rows]
    out.rows(data, LIST_COLUMNS, fmt, id_key="name", empty="no domains match", shape=DOMAIN_ROW)
    if cut_at and fmt in (Format.table, Format.wide):
        out.message(f"showing the first {cut_at}; use --limit N (0: all) and --offset N for more")


# -- one domain ------------------------------------------------------------------------------
def grant_json(g) -> dict[str, Any]:
    return DOMAIN_GRANT(member=g.member, role=g.role, email_content=g.email_content, created_at=g.created_at)


def key_json(k) -> dict[str, Any]:
    return DOMAIN_KEY(selector=k.selector, algorithm=k.algorithm, bits=k.bits, state=k.state, created_at=k.created_at,
                      dns_state=k.dns_state)


def check_json(c) -> dict[str, Any]:
    return DOMAIN_CHECK(record=c.record, state=c.state, cause=c.cause, checked_at=c.checked_at)


def verification_json(v) -> dict[str, Any]:
    return DOMAIN_VERIFICATION(state=v.state, checked_at=v.checked_at, records=[check_json(c) for c in v.records])


def credentials_json(c) -> dict[str, Any]:
    return DOMAIN_CREDENTIALS(domain=c.domain, username=c.username, created_at=c.created_at, reset_at=c.reset_at,
                              previous_live=c.previous_live, previous_until=c.previous_until)


def domain_json(d) -> dict[str, Any]:
    return DOMAIN(id=d.id, name=d.name, unicode=d.unicode, owner=d.owner, account_id=d.account_id,
                  open_tracking=d.open_tracking, click_tracking=d.click_tracking, unsubscribe_footer=d.unsubscribe_footer,
                  monthly_cap=d.monthly_cap, created_at=d.created_at, grants=[grant_json(g) for g in d.grants],
                  dkim_keys=[key_json(k) for k in d.dkim_keys], verification=verification_json(d.verification),
                  credentials=credentials_json(d.credentials) if d.credentials else None)


def _login_words(d) -> str:
    """The SMTP login in one cell: hidden from a reader without domains.credentials (rule 6)."""
    if not d.credentials_visible:
        return "hidden (needs domains.credentials on the domain)"
    c = d.credentials
    if c is None:
        return "none yet (`mailadmin domains credentials DOMAIN --reset`)"
    from mailadmin.timeutil import iso

    grace = f"; previous secret live until {iso(c.previous_until)}" if c.previous_live else ""
    return f"{c.username}, last reset {iso(c.reset_at)}{grace}"


def _verification_words(v) -> str:
    if v.checked_at is None:
        return f"{v.state} (never checked: `mailadmin domains verify DOMAIN`)"
    from mailadmin.timeutil import iso

    return f"{v.state} (checked {iso(v.checked_at)})"


def domain_show(out: Output, d, fmt: Format) -> None:
    data = domain_json(d)
    if fmt is Format.json:
        out.json(data)
        return
    if fmt is Format.csv:
        flat = {k: v for k, v in data.items() if k not in ("grants", "dkim_keys", "verification", "credentials")}
        flat["grants"] = [f"{g.member}: {g.role}" + (" +email content" if g.email_content else "") for g in d.grants]
        flat["dkim_keys"] = [f"{k.selector}: {k.algorithm} {k.state}, dns {k.dns_state}" for k in d.dkim_keys]
        flat["verification"] = d.verification.state
        flat["verification_checked_at"] = d.verification.checked_at
        flat["smtp_username"] = d.credentials.username if d.credentials else None
        flat["smtp_reset_at"] = d.credentials.reset_at if d.credentials else None
        flat["smtp_previous_until"] = d.credentials.previous_until if d.credentials else None
        out.record(flat, fmt, fields=[Column(k) for k in flat])
        return
    shown = {**data, "verification": _verification_words(d.verification), "credentials": _login_words(d)}
    out.record(shown, fmt, fields=SHOW_FIELDS, title=f"domain {_label(d.name, d.unicode)}")
    if d.dkim_keys:
        out.rows([key_json(k) for k in d.dkim_keys], KEY_COLUMNS, Format.table, title="DKIM keys")
    if d.verification.records:
        out.rows([check_json(c) for c in d.verification.records], CHECK_COLUMNS, Format.table, title="DNS records")
    if d.grants:
        out.rows([grant_json(g) for g in d.grants], GRANT_COLUMNS, Format.table, title="grants")
    else:
        out.message(f"no member holds a grant on {d.name}; the owner and admins reach it through their roles")


def added(out: Output, d, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(domain_json(d))
    else:
        out.message(f"added domain {_label(d.name, d.unicode)} to {d.owner}'s account")


def _going(d) -> str:
    """What goes with a domain, in words: its keys, DNS results, login and grants."""
    parts = [counted(len(d.dkim_keys), "DKIM key")]
    if d.verification.records:
        parts.append(counted(len(d.verification.records), "DNS check result"))
    if d.credentials is not None:
        parts.append(f"its SMTP login {d.credentials.username}")
    if d.grants:
        parts.append(counted(len(d.grants), "member grant"))
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def removed(out: Output, d) -> None:
    out.message(f"removed domain {_label(d.name, d.unicode)} from {d.owner}'s account, with {_going(d)}; "
                f"its audit entries stay")


def removal_question(d) -> str:
    return f"remove domain {d.name} of {d.owner}'s account? Its {_going(d)} go with it (the audit log keeps its history)"


# -- settings --------------------------------------------------------------------------------
def _setting(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def settings_set(out: Output, change, fmt: Format) -> None:
    """-o json or csv: the domain after the change on stdout; what changed, in words, on stderr."""
    d = change.detail
    if fmt in (Format.json, Format.csv):
        domain_show(out, d, fmt)
    words = [f"{SETTING_WORDS[f]} {_setting(after)} (was {_setting(before)})" for f, (before, after) in change.changed.items()]
    same = [f"{SETTING_WORDS[f]} already {_setting(value)}" for f, value in change.unchanged.items()]
    if words:
        out.message(f"{d.name}: " + "; ".join(words + same))
    else:
        out.message(f"{d.name}: " + "; ".join(same) + "; nothing changed")


# -- SMTP credentials ------------------------------------------------------------------------
def credentials_show(out: Output, c, fmt: Format) -> None:
    out.record(credentials_json(c), fmt, fields=CREDENTIAL_FIELDS, title=f"SMTP login of {c.domain}")


def secret_issued(out: Output, s, fmt: Format) -> None:
    """The password, once: on stdout (the data), in every format; what it means on stderr."""
    data = SMTP_SECRET(domain=s.domain, username=s.username, password=s.password, created=s.created,
                       created_at=s.created_at, reset_at=s.reset_at, previous_until=s.previous_until)
    if fmt is Format.table:  # a row table: never folded, so the password copies whole at any width
        out.rows([{"username": s.username, "password": s.password}], [Column("username"), Column("password")], fmt,
                 title="SMTP login (the password is shown this once)")
    else:
        out.record(data, fmt)
    from mailadmin.timeutil import iso

    if s.created:
        then = "the login is new"
    elif s.previous_until is not None:
        then = f"the previous password stays valid until {iso(s.previous_until)}"
    else:
        then = "the previous password no longer works"
    out.message(f"{'made' if s.created else 'reset'} the SMTP login {s.username}: store the password now, it is kept only "
                f"as an Argon2id hash and cannot be shown again; {then}")


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
