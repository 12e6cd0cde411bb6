"""`domains verify`: look every record a domain must publish up in DNS (dnspython), say per record
whether it is there and, when not, why; store one DnsCheck row per record.

Three steps, so no store lock is held while DNS answers (a slow server must not stall every other
writer): `plan` reads the domain and its records in a read transaction, `lookup` asks the DNS
server with no transaction open, `store` writes the results in a short write transaction, after
checking the records are still the ones looked up. A server that does not answer, refuses or fails
is ServiceUnavailable (exit 75, retry later) and nothing is stored: a check that did not run is not
a failed check. A check that ran is stored whatever it found.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from datetime import datetime

from mailadmin.errors import Conflict, InvalidInput, ServiceUnavailable
from mailadmin.operation import Operation
from mailadmin.services.dnsrecords import (CNAME, DKIM_PREFIX, DMARC, FAILED, PENDING, SPF, VERIFIED, Platform, Record,
                                           checks_of, expected_text, overall, records_for)

TIMEOUT_DEFAULT, TIMEOUT_MAX = 5.0, 60.0
NO_SUCH_NAME = "no such name (NXDOMAIN)"
SPLIT_WRONGLY = ("TXT split wrongly: the value is there only when several TXT records are joined; "
                 "publish ONE record of several strings")


@dataclass(frozen=True)
class Nameserver:
    """The DNS server asked: an address and port, or None fields for the system's resolv.conf."""

    address: str | None
    port: int = 53

    @property
    def label(self) -> str:
        if self.address is None:
            return "the system resolver"
        if self.port == 53:
            return self.address
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


def nameserver(option: str | None, configured: str | None) -> Nameserver:
    """--resolver, else the config's platform.resolver, else the system's resolv.conf."""
    from mailadmin.config import parse_resolver

    if option is not None:
        try:
            return Nameserver(*parse_resolver(option))
        except InvalidInput as exc:
            raise InvalidInput(f"--resolver: {exc.message}") from None
    if configured:
        return Nameserver(*parse_resolver(configured))
    return Nameserver(None)


def check_timeout(seconds: float) -> float:
    if not math.isfinite(seconds) or not 0 < seconds <= TIMEOUT_MAX:
        raise InvalidInput(f"--timeout {seconds:g} is not a number of seconds above 0 and at most {TIMEOUT_MAX:g}")
    return seconds


# -- step 1: what to look up ---------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    domain_id: int
    domain: str
    unicode: str
    platform: Platform
    records: list[Record]


def plan(op: Operation, name: str, platform: Platform) -> Plan:
    """The domain `name` names (domains.manage on it through --as) and the records it must publish."""
    from mailadmin.services import access, dkim, domains

    domain = domains.get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    records = records_for(domain.name, dkim.keys_of(op.session, domain.id), platform)
    return Plan(domain.id, domain.name, domains.unicode_of(domain.name), platform, records)


# -- step 2: asking DNS --------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    id: str
    name: str
    type: str
    state: str  # verified | failed
    expected: str
    found: str | None
    cause: str | None


@dataclass(frozen=True)
class _Txt:
    value: str  # the record's strings joined with nothing between (what SPF, DKIM and DMARC read)
    shown: str  # as a zone file writes it: "abc" "def"


_NXDOMAIN, _NODATA, _TOO_LONG = "nxdomain", "nodata", "too long"


def lookup(plan_: Plan, server: Nameserver, timeout: float = TIMEOUT_DEFAULT) -> list[Check]:
    """Ask `server` for every record of the plan; raise ServiceUnavailable when it cannot answer."""
    import dns.resolver

    if server.address is None:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            from mailadmin.errors import ConfigError

            raise ConfigError("no DNS server to ask: the system has no usable resolv.conf",
                              hint="pass --resolver HOST[:PORT] or `mailadmin config set platform.resolver HOST[:PORT]`") from None
        label = "the system resolver (" + ", ".join(str(n) for n in resolver.nameservers) + ")"
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [server.address]
        resolver.port = server.port
        label = f"DNS server {server.label}"
    resolver.timeout = min(2.0, timeout)  # one try; tries are repeated until the lifetime ends
    resolver.lifetime = timeout
    resolver.use_edns(0, 0, 1232)  # a 2048-bit DKIM record does not fit 512 octets; TC and TCP still work
    resolver.cache = None
    return [_check(record, _ask(resolver, label, timeout, record)) for record in plan_.records]


def _ask(resolver, label: str, timeout: float, record: Record):
    import dns.exception
    import dns.name
    import dns.resolver

    try:
        qname = dns.name.from_text(record.name + ".")
    except dns.exception.DNSException:  # longer than DNS allows: no server can hold it
        return _TOO_LONG
    try:
        answer = resolver.resolve(qname, record.type, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return _NXDOMAIN
    except dns.exception.Timeout:
        raise ServiceUnavailable(f"{label} did not answer within {timeout:g} s (asking {record.name} {record.type}); nothing was stored",
                                 hint="retry later, or ask another server with --resolver HOST[:PORT]") from None
    except dns.resolver.NoNameservers as exc:
        raise ServiceUnavailable(f"{label} could not answer {record.name} {record.type} ({_why(exc)}); nothing was stored",
                                 hint="retry later, or ask another server with --resolver HOST[:PORT]") from None
    except dns.exception.DNSException as exc:
        raise ServiceUnavailable(f"{label} gave no usable answer for {record.name} {record.type} "
                                 f"({type(exc).__name__}); nothing was stored") from None
    if answer.rrset is None:
        return _NODATA
    if record.type == CNAME:
        return [rdata.target.to_text().rstrip(".").lower() for rdata in answer.rrset]
    return [_Txt(b"".join(rdata.strings).decode("utf-8", "replace"), rdata.to_text()) for rdata in answer.rrset]


def _why(exc) -> str:
    """What NoNameservers carries, in a few words: the server's rcode, or the network error."""
    reasons = []
    for error in exc.kwargs.get("errors") or []:
        what = error[3] if len(error) > 3 else error
        if isinstance(what, ConnectionRefusedError):
            text = "connection refused"
        elif isinstance(what, OSError):
            text = what.strerror or type(what).__name__
        else:
            text = str(what)
        if text and text not in reasons:
            reasons.append(text)
    return "; ".join(reasons) or "no server could answer"


def _check(record: Record, answer) -> Check:
    expected = expected_text(record)

    def result(state: str, found: str | None, cause: str | None = None) -> Check:
        return Check(record.id, record.name, record.type, state, expected, found, cause)

    if answer == _NXDOMAIN:
        return result(FAILED, None, NO_SUCH_NAME)
    if answer == _TOO_LONG:
        return result(FAILED, None, "the name is longer than DNS allows (255 octets); it cannot be published")
    if answer == _NODATA:
        return result(FAILED, None, f"no record of that type (the name exists, with no {record.type} record: NODATA)")
    if record.type == CNAME:
        target = answer[0]
        if target == record.value.lower():
            return result(VERIFIED, target)
        return result(FAILED, target, f"a CNAME pointing elsewhere (to {target}, not {record.value})")
    found = " | ".join(t.shown for t in answer)
    if record.id == SPF:
        state, cause = _spf(answer, record)
    elif record.id == DMARC:
        state, cause = _dmarc(answer)
    elif record.id.startswith(DKIM_PREFIX):
        state, cause = _dkim(answer, record)
    else:  # a TXT record of no known kind: its value must be there whole
        state, cause = (VERIFIED, None) if any(t.value == record.value for t in answer) else (FAILED, "wrong value")
    return result(state, found, cause)


def _joins(values: list[str]):
    """Every order of joining several TXT records (a mis-split record is found in one of them)."""
    if len(values) < 2 or len(values) > 5:
        return []
    return ["".join(order) for order in itertools.permutations(values)]


# SPF (RFC 7208): one record starting with v=spf1; ours when it includes the platform's include.
def _is_spf(value: str) -> bool:
    lowered = value.lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def _includes(value: str, include: str) -> bool:
    wanted = f"include:{include.lower()}"
    return any(term.lower().lstrip("+").rstrip(".") == wanted for term in value.split())


def _spf(answer: list[_Txt], record: Record) -> tuple[str, str | None]:
    include = record.value.split("include:", 1)[1].split()[0]
    spf = [t.value for t in answer if _is_spf(t.value)]
    if len(spf) > 1:
        return FAILED, f"several SPF records ({len(spf)}): RFC 7208 4.5 makes that a permerror; merge them into one"
    if len(spf) == 1 and _includes(spf[0], include):
        return VERIFIED, None
    if any(_is_spf(j) and _includes(j, include) for j in _joins([t.value for t in answer])):
        return FAILED, SPLIT_WRONGLY
    if spf:
        return FAILED, f"SPF without our include: add include:{include} to the one v=spf1 record"
    return FAILED, "no SPF record among the TXT records (none starts with v=spf1)"


# DMARC (RFC 7489): one record starting with v=DMARC1, any policy (the customer's choice).
_DMARC = re.compile(r"v\s*=\s*DMARC1\s*(;|$)")


def _dmarc(answer: list[_Txt]) -> tuple[str, str | None]:
    dmarc = [t.value for t in answer if _DMARC.match(t.value)]
    if len(dmarc) == 1:
        return VERIFIED, None
    if len(dmarc) > 1:
        return FAILED, f"several DMARC records ({len(dmarc)}): RFC 7489 6.6.3 has receivers apply none; keep one"
    if any(_DMARC.match(j) for j in _joins([t.value for t in answer])):
        return FAILED, SPLIT_WRONGLY
    return FAILED, "no DMARC record among the TXT records (none starts with v=DMARC1)"


# DKIM (RFC 6376 3.6.1): a tag list whose p= is this selector's key, k= its algorithm (rsa by default).
def _tags(value: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in value.split(";"):
        name, eq, text = part.partition("=")
        if eq:
            tags.setdefault(name.strip().lower(), text.strip())
    return tags


def _dkim_key(tags: dict[str, str]) -> tuple[str | None, str, str | None]:
    p = tags.get("p")
    return (None if p is None else re.sub(r"\s+", "", p)), tags.get("k", "rsa").lower(), tags.get("v")


def _dkim(answer: list[_Txt], record: Record) -> tuple[str, str | None]:
    wanted = _tags(record.value)
    want_p, want_k, _ = _dkim_key(wanted)
    selector = record.id[len(DKIM_PREFIX):]

    def ours(value: str) -> bool:
        p, k, v = _dkim_key(_tags(value))
        return p == want_p and k == want_k and v in (None, "DKIM1")

    matching = [t for t in answer if ours(t.value)]
    if matching and len(answer) == 1:
        return VERIFIED, None
    if matching:
        return FAILED, (f"several TXT records ({len(answer)}) at {record.name}: a verifier may use any one of them; "
                        f"keep only selector {selector}'s key")
    if any(ours(j) for j in _joins([t.value for t in answer])):
        return FAILED, SPLIT_WRONGLY
    for t in answer:
        p, k, _v = _dkim_key(_tags(t.value))
        if p is None:
            continue
        if p == "":
            return FAILED, "wrong value: the key is revoked (empty p=)"
        if p == want_p:
            return FAILED, f"wrong value: k={k}, the key is k={want_k}"
        return FAILED, f"a DKIM record with a different key (its p= is not selector {selector}'s key)"
    return FAILED, "wrong value: not a DKIM key record (no p= tag)"


# -- step 3: storing what was found --------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    domain: str
    unicode: str
    state: str
    server: str
    checked_at: datetime
    checks: list[Check]


def store(op: Operation, plan_: Plan, checks: list[Check], server: Nameserver) -> Report:
    """Upsert one DnsCheck row per record looked up, delete rows of records no longer expected (a
    retired selector's), and audit the records whose state changed (a re-run that finds the same
    adds no entry). Refused when the domain or its records changed while DNS was asked."""
    from sqlalchemy import delete

    from mailadmin.services import access, audit, dkim, domains
    from mailadmin.store.models import DnsCheck, Domain

    session = op.session
    domain = session.get(Domain, plan_.domain_id)
    if domain is None or domain.name != plan_.domain:
        raise domains.no_such_domain(plan_.domain)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    now_records = records_for(domain.name, dkim.keys_of(session, domain.id), plan_.platform)
    if [(r.id, r.value) for r in now_records] != [(r.id, r.value) for r in plan_.records]:
        raise Conflict(f"the records of {domain.name} changed while verify ran (a DKIM rotation?); nothing was stored",
                       hint=f"run `mailadmin domains verify {domain.name}` again")
    existing = checks_of(session, domain.id)
    was = overall(existing[r.id].state if r.id in existing else PENDING for r in plan_.records)
    before: dict[str, str | None] = {}
    after: dict[str, str | None] = {}
    for check in checks:
        row = existing.pop(check.id, None)
        if row is None:
            row = DnsCheck(domain_id=domain.id, record=check.id)
            session.add(row)
            old = None
        else:
            old = row.state
        if old != check.state:
            before[check.id], after[check.id] = old, check.state
        row.name, row.type, row.state = check.name, check.type, check.state
        row.expected, row.found, row.cause, row.checked_at = check.expected, check.found, check.cause, op.now
    for gone in existing:  # no longer expected: a retired selector, or a record no longer built
        before[gone], after[gone] = existing[gone].state, None
    if existing:
        session.execute(delete(DnsCheck).where(DnsCheck.domain_id == domain.id, DnsCheck.record.in_(list(existing))))
    session.flush()
    state = overall(c.state for c in checks)
    if before:
        audit.record(op, "domain.verify", f"domain:{domain.name}", {"state": was, "records": before},
                     {"state": state, "records": after, "server": server.label})
    return Report(domain.name, plan_.unicode, state, server.label, op.now, checks)
