"""DKIM and DNS as people and scripts read them: the records to publish (table, zone-file lines,
JSON), what `verify` found per record, a DKIM rotation's steps, and what `export-dkim` wrote.
Never a private key: keys are named by selector and algorithm only."""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Column, Format, Output, counted, view

DNS_RECORDS = view("dns_records", "domain", "unicode", "state", "records")
DNS_RECORD = view("dns_record", "id", "name", "type", "value", "strings", "ttl", "purpose", "state", "checked_at")
DNS_VERIFY = view("dns_verify", "domain", "unicode", "state", "server", "checked_at", "records")
DNS_CHECK = view("dns_check", "id", "name", "type", "state", "expected", "found", "cause")
DKIM_ROTATION = view("dkim_rotation", "domain", "action", "active", "pending", "retired")
DKIM_KEY = view("dkim_key", "selector", "algorithm", "bits", "state", "created_at")
DKIM_EXPORT = view("dkim_export", "dir", "key_table", "signing_table", "domain", "algorithm", "keys", "removed")
DKIM_EXPORT_KEY = view("dkim_export_key", "domain", "selector", "algorithm", "state", "path")

RECORD_COLUMNS = [Column("id", "Record"), Column("type"), Column("name"), Column("state"), Column("value", wrap=True)]
CHECK_COLUMNS = [Column("id", "Record"), Column("state"), Column("name"), Column("cause", wrap=True), Column("found", wrap=True)]


def _label(name: str, unicode: str) -> str:
    return name if unicode == name else f"{name} ({unicode})"


# -- domains dns -------------------------------------------------------------------------------
def record_json(p) -> dict[str, Any]:
    r = p.record
    return DNS_RECORD(id=r.id, name=r.name, type=r.type, value=r.value, strings=r.strings, ttl=r.ttl, purpose=r.purpose,
                      state=p.state, checked_at=p.checked_at)


def dns_records(out: Output, d, fmt: Format, *, zone: bool = False) -> None:
    if zone:
        lines = [f"; {_label(d.domain, d.unicode)}: the records to publish (mailadmin domains dns --zone)"]
        lines += [p.record.zone_line() for p in d.records]
        out.lines(lines)
        return
    records = [record_json(p) for p in d.records]
    if fmt is Format.json:
        out.json(DNS_RECORDS(domain=d.domain, unicode=d.unicode, state=d.state, records=records))
        return
    if fmt is Format.csv:
        out.rows([{k: v for k, v in r.items() if k != "strings"} for r in records],
                 [Column(k) for k in DNS_RECORD.fields if k != "strings"], fmt)
        return
    out.rows(records, RECORD_COLUMNS, fmt, title=f"DNS records of {_label(d.domain, d.unicode)}: {d.state}")
    out.message("to copy them whole: `--zone` (zone-file lines) or `-o json`")


# -- domains verify ----------------------------------------------------------------------------
def check_json(c) -> dict[str, Any]:
    return DNS_CHECK(id=c.id, name=c.name, type=c.type, state=c.state, expected=c.expected, found=c.found, cause=c.cause)


def verified(out: Output, report, fmt: Format) -> None:
    checks = [check_json(c) for c in report.checks]
    if fmt is Format.json:
        out.json(DNS_VERIFY(domain=report.domain, unicode=report.unicode, state=report.state, server=report.server,
                            checked_at=report.checked_at, records=checks))
    elif fmt is Format.csv:
        out.rows(checks, [Column(k) for k in DNS_CHECK.fields], fmt)
    else:
        out.rows(checks, CHECK_COLUMNS, fmt, title=f"DNS of {_label(report.domain, report.unicode)} asked of {report.server}")
    failed = [c.id for c in report.checks if c.state == "failed"]
    if failed:
        out.message(f"{report.domain}: {counted(len(failed), 'record')} of {len(report.checks)} failed ({', '.join(failed)}); "
                    "publish what `mailadmin domains dns` prints and verify again")
    else:
        out.message(f"{report.domain}: all {len(report.checks)} records verified")


# -- domains rotate-dkim -----------------------------------------------------------------------
def key_json(k) -> dict[str, Any] | None:
    if k is None:
        return None
    return DKIM_KEY(selector=k.selector, algorithm=k.algorithm, bits=k.bits, state=k.state, created_at=k.created_at)


def rotation(out: Output, r, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(DKIM_ROTATION(domain=r.domain, action=r.action, active=key_json(r.active), pending=key_json(r.pending),
                               retired=key_json(r.retired)))
    if r.action == "started":
        out.message(f"{r.domain}: new DKIM key {r.pending.selector} ({r.pending.algorithm}) is pending beside "
                    f"{r.active.selector if r.active else 'no active key'}; publish its record (`mailadmin domains dns {r.domain}`), "
                    f"run `mailadmin domains verify {r.domain}`, then `mailadmin domains rotate-dkim {r.domain} --finish`")
    elif r.action == "finished":
        old = f"; key {r.retired.selector} is deleted (keep its DNS record a few days for mail in flight)" if r.retired else ""
        out.message(f"{r.domain}: DKIM key {r.active.selector} signs now{old}; re-run `mailadmin domains export-dkim` for the signer")
    else:
        out.message(f"{r.domain}: pending DKIM key {r.retired.selector} dropped; {r.active.selector if r.active else 'no key'} stays active")


# -- domains export-dkim -----------------------------------------------------------------------
def exported(out: Output, e, fmt: Format) -> None:
    keys = [DKIM_EXPORT_KEY(domain=k.domain, selector=k.selector, algorithm=k.algorithm, state=k.state, path=k.path) for k in e.keys]
    if fmt is Format.json:
        out.json(DKIM_EXPORT(dir=e.dir, key_table=e.key_table, signing_table=e.signing_table, domain=e.domain,
                             algorithm=e.algorithm, keys=keys, removed=e.removed))
    else:
        out.lines([e.key_table, e.signing_table, *(k.path for k in e.keys)])
    removed = f"; removed {counted(len(e.removed), 'retired key file')}" if e.removed else ""
    which = f"{e.algorithm} " if e.algorithm else ""
    out.message(f"wrote {counted(len(e.keys), which + 'private key')} of {counted(len({k.domain for k in e.keys}), 'domain')}, "
                f"KeyTable and SigningTable to {e.dir}{removed}")
