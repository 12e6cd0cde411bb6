"""The DNS records a sending domain must publish, built in one place: `domains dns` prints them,
`domains verify` looks them up, and the zone-file lines come from them too.

Per domain: one SPF record (the platform's include), a DKIM TXT record per key (the active one and,
during a rotation, the pending one), a DMARC record, and two CNAMEs to the platform's hosts (the
return path and the tracking links). The platform's host names come from the config file and have
no defaults (a default would point customers at someone else's platform). Record ids (`spf`,
`dkim:SELECTOR`, `dmarc`, `return_path`, `tracking`) are what DnsCheck rows are keyed by.
"""

from __future__ import annotations

from dataclasses import dataclass

TXT, CNAME = "TXT", "CNAME"
SPF, DMARC, RETURN_PATH, TRACKING = "spf", "dmarc", "return_path", "tracking"
DKIM_PREFIX = "dkim:"
TTL = 3600  # zone lines carry one, so they load without a $TTL line
NAME_MAX = 253  # octets of a DNS name as text, without the final dot (RFC 1035 2.3.4)
TXT_STRING_MAX = 255  # octets in one character-string (RFC 1035 3.3.14); a record holds several
# SPF's all qualifier: ~all (softfail) rather than -all, because a receiver may reject on an SPF
# fail before DMARC has looked at DKIM (RFC 7489 10.1), losing forwarded mail DKIM would pass.
SPF_ALL = "~all"

REQUIRED_KEYS = ("platform.spf_include", "platform.return_path_host", "platform.tracking_host")


@dataclass(frozen=True)
class Platform:
    """The platform's side of every record, from the config file."""

    spf_include: str
    return_path_host: str
    tracking_host: str
    return_path_label: str = "bounces"
    tracking_label: str = "track"
    dmarc_policy: str = "none"
    dmarc_rua: str | None = None

    @classmethod
    def from_config(cls, config) -> "Platform":
        """The settings; an unset host name is exit 78 naming its key (before the store is opened)."""
        required = config.require(*REQUIRED_KEYS)
        return cls(
            spf_include=required["platform.spf_include"],
            return_path_host=required["platform.return_path_host"],
            tracking_host=required["platform.tracking_host"],
            return_path_label=config.get("platform.return_path_label"),
            tracking_label=config.get("platform.tracking_label"),
            dmarc_policy=config.get("platform.dmarc_policy"),
            dmarc_rua=config.get("platform.dmarc_rua"),
        )


@dataclass(frozen=True)
class Record:
    """One record to publish. `name` and a CNAME's `value` are absolute names written without the
    final dot (zone lines add it); `value` is a TXT record's whole text, unsplit."""

    id: str
    name: str
    type: str
    value: str
    purpose: str
    ttl: int = TTL

    @property
    def strings(self) -> list[str] | None:
        """A TXT value as the character-strings of ONE record (each at most 255 octets); None for a CNAME."""
        if self.type != TXT:
            return None
        return split_txt(self.value)

    def zone_line(self) -> str:
        """The line a zone file holds: absolute owner name, TTL, class, type, data."""
        if self.type == TXT:
            data = " ".join(quote(s) for s in self.strings or [""])
        else:
            data = f"{self.value}."
        return f"{self.name}. {self.ttl} IN {self.type} {data}"


def split_txt(value: str) -> list[str]:
    """`value` cut into character-strings of at most 255 octets, never inside a UTF-8 character
    (a verifier joins them back with nothing between: RFC 6376 3.6.2.2, RFC 7208 3.3)."""
    data = value.encode("utf-8")
    out: list[str] = []
    while data:
        cut = min(len(data), TXT_STRING_MAX)
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # a continuation byte: step back
            cut -= 1
        out.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    return out or [""]


def quote(text: str) -> str:
    """A zone-file character-string: quoted, with `"` and `\\` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dkim_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def dkim_value(algorithm: str, public_key: str) -> str:
    """The DKIM key record (RFC 6376 3.6.1; k=ed25519 from RFC 8463)."""
    return f"v=DKIM1; k={algorithm}; p={public_key}"


def spf_value(platform: Platform) -> str:
    return f"v=spf1 include:{platform.spf_include} {SPF_ALL}"


def dmarc_value(platform: Platform) -> str:
    value = f"v=DMARC1; p={platform.dmarc_policy}"
    if platform.dmarc_rua:
        value += f"; rua=mailto:{platform.dmarc_rua}"
    return value


def records_for(domain: str, keys, platform: Platform) -> list[Record]:
    """Every record `domain` (A-labels) must publish, in a stable order: SPF, the DKIM keys (active
    first), DMARC, the return path, tracking. `keys`: the domain's DkimKey rows."""
    records = [Record(SPF, domain, TXT, spf_value(platform),
                      f"SPF: lets the platform's servers ({platform.spf_include}) send as {domain}")]
    for key in sorted(keys, key=lambda k: k.state != "active"):
        size = f" {key.bits}" if key.bits else ""
        role = "signs mail now" if key.state == "active" else "pending rotation: publish it, verify, then rotate-dkim --finish"
        records.append(Record(f"{DKIM_PREFIX}{key.selector}", dkim_name(key.selector, domain), TXT,
                              dkim_value(key.algorithm, key.public_key),
                              f"DKIM key {key.selector} ({key.algorithm}{size}, {key.state}): {role}"))
    records.append(Record(DMARC, f"_dmarc.{domain}", TXT, dmarc_value(platform),
                          f"DMARC: policy {platform.dmarc_policy}" + (f", reports to {platform.dmarc_rua}" if platform.dmarc_rua else "")))
    records.append(Record(RETURN_PATH, f"{platform.return_path_label}.{domain}", CNAME, platform.return_path_host,
                          "return path: bounces come back to the platform (SPF alignment)"))
    records.append(Record(TRACKING, f"{platform.tracking_label}.{domain}", CNAME, platform.tracking_host,
                          "tracking: open and click links on the domain"))
    for record in records:
        if len(record.name) > NAME_MAX:  # no DNS server could hold it: say so rather than print it
            from mailadmin.errors import Conflict

            label = {RETURN_PATH: "platform.return_path_label", TRACKING: "platform.tracking_label"}.get(record.id)
            raise Conflict(f"{domain} cannot publish its {record.id} record: {record.name[:30]}... is {len(record.name)} octets "
                           f"long; DNS names hold at most {NAME_MAX}",
                           hint=f"a shorter {label}" if label else "the domain name is too long for it")
    return records


def record_ids(selectors) -> list[str]:
    """The ids of the records a domain with these DKIM selectors must publish (no config needed:
    the ids do not depend on the platform's host names)."""
    return [SPF, *(f"{DKIM_PREFIX}{s}" for s in selectors), DMARC, RETURN_PATH, TRACKING]


# -- a domain's records with what the last verify found ----------------------------------------
PENDING, VERIFIED, FAILED = "pending", "verified", "failed"


def overall(states) -> str:
    """A domain's DNS state from its records': verified when every one is, failed when any failed,
    else pending (some never checked, or changed since)."""
    states = list(states)
    return overall_state(len(states), states.count(VERIFIED), states.count(FAILED))


def overall_state(expected: int, verified: int, failed: int) -> str:
    """The same from counts (what one aggregate query gives for many domains): `expected` records
    to publish, of which the stored checks found `verified` right and `failed` wrong."""
    if failed:
        return FAILED
    return VERIFIED if expected and verified == expected else PENDING


@dataclass(frozen=True)
class Published:
    """A record with the state its last check left it in (pending when never checked, or when
    what is expected changed since: a new config value, a new key)."""

    record: Record
    state: str
    checked_at: object | None


@dataclass(frozen=True)
class DomainRecords:
    domain: str
    unicode: str
    state: str
    records: list[Published]


def published(op, name: str, platform: Platform) -> DomainRecords:
    """`domains dns`: the records `name` must publish (any spelling; domains.view on it)."""
    from mailadmin.services import access, dkim, domains

    domain = domains.get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    records = records_for(domain.name, dkim.keys_of(op.session, domain.id), platform)
    checks = checks_of(op.session, domain.id)
    out = []
    for record in records:
        check = checks.get(record.id)
        if check is not None and check.expected == expected_text(record):
            out.append(Published(record, check.state, check.checked_at))
        else:
            out.append(Published(record, PENDING, None))
    return DomainRecords(domain.name, domains.unicode_of(domain.name), overall(p.state for p in out), out)


def expected_text(record: Record) -> str:
    """What a DnsCheck row stores as `expected`: the TXT value, or the CNAME target."""
    return record.value


def checks_of(session, domain_id: int) -> dict:
    from sqlalchemy import select

    from mailadmin.store.models import DnsCheck

    return {c.record: c for c in session.execute(select(DnsCheck).where(DnsCheck.domain_id == domain_id)).scalars()}


def states(session, domain_ids) -> dict[int, str]:
    """The DNS state of many domains in two queries (for `domains show` and `list`): a record the
    domain must publish without a stored check is pending. The stored states are trusted as they
    are (comparing them with the config's current values needs the config; `dns` does that)."""
    from sqlalchemy import select

    from mailadmin.store.models import DkimKey, DnsCheck

    ids = list(domain_ids)
    if not ids:
        return {}
    selectors: dict[int, list[str]] = {i: [] for i in ids}
    found: dict[int, dict[str, str]] = {i: {} for i in ids}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for domain_id, selector in session.execute(select(DkimKey.domain_id, DkimKey.selector).where(DkimKey.domain_id.in_(chunk))):
            selectors[domain_id].append(selector)
        for domain_id, record, state in session.execute(
                select(DnsCheck.domain_id, DnsCheck.record, DnsCheck.state).where(DnsCheck.domain_id.in_(chunk))):
            found[domain_id][record] = state
    return {i: overall(found[i].get(r, PENDING) for r in record_ids(selectors[i])) for i in ids}
