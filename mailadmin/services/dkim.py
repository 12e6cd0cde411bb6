"""DKIM keys of sending domains: making them, naming them (selectors), reading them.

A key pair is made with `cryptography`: RSA 2048 by default, Ed25519 on request (RFC 8463). The
private key is kept as PEM PKCS#8, the form OpenDKIM reads for both algorithms; the public key as
the record's p= value: base64 of the DER SubjectPublicKeyInfo for RSA, of the raw 32-byte key for
Ed25519. A domain has one `active` key, and during a rotation one `pending` key published beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from mailadmin.errors import Conflict, Failure, InvalidInput
from mailadmin.operation import Operation
from mailadmin.store.models import DkimKey, Domain

ALGORITHMS = ("rsa", "ed25519")
RSA, ED25519 = ALGORITHMS
RSA_BITS = 2048
ACTIVE, PENDING = "active", "pending"
SELECTOR_MAX = 63  # the column; one DNS label's worth, even when the selector has several
NAME_MAX = 253  # octets of a DNS name written as text without the final dot (RFC 1035 2.3.4)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SELECTOR = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def check_algorithm(value: str) -> str:
    algorithm = value.strip(" \t").lower()
    if algorithm not in ALGORITHMS:
        raise InvalidInput(f"a DKIM algorithm is {' or '.join(ALGORITHMS)}, not {value!r}")
    return algorithm


def check_selector(value: str) -> str:
    """A selector is what goes before `._domainkey.`: DNS labels of letters, digits and hyphens
    (RFC 6376 3.1), stored lower-case."""
    selector = value.strip(" \t").lower()
    shown = value if len(value) <= 80 else value[:60] + "..."
    if not selector:
        raise InvalidInput("a DKIM selector must not be empty")
    if len(selector) > SELECTOR_MAX:
        raise InvalidInput(f"DKIM selector {shown!r} is {len(selector)} characters long; at most {SELECTOR_MAX}")
    if not _SELECTOR.fullmatch(selector):
        raise InvalidInput(f"DKIM selector {shown!r} is not one: DNS labels of letters, digits and hyphens, "
                           "not starting or ending with a hyphen")
    return selector


def default_selector(taken: set[str], now: datetime) -> str:
    """A dated selector (`ma20261126`), with a suffix when that day's is taken on the domain (a
    second rotation on the same day)."""
    base = f"ma{now:%Y%m%d}"
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def new_key(algorithm: str) -> tuple[str, str, int | None]:
    """A fresh key pair: (private key as PEM PKCS#8, the record's p= value, RSA bits or None)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if algorithm == RSA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return (private.decode("ascii"), *_record_value(key))


def public_of(pem: str, algorithm: str) -> tuple[str, int | None]:
    """(the record's p= value, RSA bits) of a PEM PKCS#8 private key (a document's key, for
    `apply`); ValueError when it is not one of `algorithm`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (TypeError, UnicodeEncodeError) as e:
        raise ValueError(str(e)) from None
    if (algorithm == RSA and isinstance(key, rsa.RSAPrivateKey)) or (algorithm == ED25519 and isinstance(key, ed25519.Ed25519PrivateKey)):
        return _record_value(key)
    raise ValueError(f"the key is not {algorithm}")


def _record_value(key) -> tuple[str, int | None]:
    """The p= value of a private key's public half (RSA: base64 of the DER SubjectPublicKeyInfo;
    Ed25519: of the raw 32-byte key, RFC 8463), and the RSA bits."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPrivateKey):
        public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(public).decode("ascii"), key.key_size
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(public).decode("ascii"), None


def keys_of(session, domain_id: int) -> list[DkimKey]:
    """A domain's keys: the active one first, then a pending one."""
    rows = session.execute(select(DkimKey).where(DkimKey.domain_id == domain_id).order_by(DkimKey.id)).scalars().all()
    return sorted(rows, key=lambda k: k.state != ACTIVE)


def create(op: Operation, domain: Domain, *, selector: str | None = None, algorithm: str = RSA,
           state: str = ACTIVE) -> DkimKey:
    """A new key for `domain` under `selector` (checked) or a dated default. The caller has
    checked the selector is free and decided the state."""
    if selector is None:
        taken = set(op.session.execute(select(DkimKey.selector).where(DkimKey.domain_id == domain.id)).scalars())
        selector = default_selector(taken, op.now)
    record = f"{selector}._domainkey.{domain.name}"
    if len(record) > NAME_MAX:  # no DNS server could hold the key's record, so no receiver could find it
        raise InvalidInput(f"DKIM selector {selector} makes {selector}._domainkey.{domain.name[:40]}... {len(record)} octets long; "
                           f"DNS names hold at most {NAME_MAX}", hint="choose a shorter --selector")
    private, public, bits = new_key(algorithm)
    key = DkimKey(domain_id=domain.id, selector=selector, algorithm=algorithm, bits=bits,
                  private_key=private, public_key=public, state=state, created_at=op.now)
    op.session.add(key)
    op.session.flush()
    return key


# -- rotation ----------------------------------------------------------------------------------
STARTED, FINISHED, CANCELLED = "started", "finished", "cancelled"


@dataclass(frozen=True)
class KeyView:
    """A key as people and scripts see it: never the private key."""

    selector: str
    algorithm: str
    bits: int | None
    state: str
    created_at: datetime


@dataclass(frozen=True)
class Rotation:
    domain: str
    action: str  # started | finished | cancelled
    active: KeyView | None
    pending: KeyView | None
    retired: KeyView | None  # the key --finish deleted, or the pending key --cancel dropped


def view_of(key: DkimKey | None) -> KeyView | None:
    if key is None:
        return None
    return KeyView(key.selector, key.algorithm, key.bits, key.state, key.created_at)


def _audit_key(key: DkimKey) -> dict:
    return {"selector": key.selector, "algorithm": key.algorithm}  # never the private key


def _keys(op: Operation, domain: Domain) -> tuple[DkimKey | None, DkimKey | None]:
    keys = keys_of(op.session, domain.id)
    active = next((k for k in keys if k.state == ACTIVE), None)
    pending = next((k for k in keys if k.state == PENDING), None)
    return active, pending


def rotate(op: Operation, name: str, *, selector: str | None = None, algorithm: str | None = None) -> Rotation:
    """Start a rotation: a pending key under a new selector (a dated default), published beside the
    active one. The algorithm stays the active key's unless `algorithm` says otherwise. One
    rotation at a time; a selector the domain has is refused."""
    from mailadmin.services import access, audit, domains

    algorithm = check_algorithm(algorithm) if algorithm is not None else None
    selector = check_selector(selector) if selector is not None else None
    domain = domains.get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    active, pending = _keys(op, domain)
    if pending is not None:
        raise Conflict(f"{domain.name} already has a rotation pending (selector {pending.selector})",
                       hint=f"finish it with `mailadmin domains rotate-dkim {domain.name} --finish` or drop it with --cancel")
    if selector is not None and selector in {k.selector for k in keys_of(op.session, domain.id)}:
        raise Conflict(f"selector {selector} is already a key of {domain.name}", hint="choose another --selector")
    algorithm = algorithm or (active.algorithm if active is not None else RSA)
    key = create(op, domain, selector=selector, algorithm=algorithm, state=PENDING)
    audit.record(op, "domain.dkim_rotate", f"domain:{domain.name}",
                 {"active": _audit_key(active)} if active else None,
                 {"active": _audit_key(active) if active else None, "pending": _audit_key(key)})
    return Rotation(domain.name, STARTED, view_of(active), view_of(key), None)


def finish(op: Operation, name: str) -> Rotation:
    """Make the pending key active and delete the old one, only once the pending key's DNS record
    was verified (by `domains verify`) with this very key."""
    from sqlalchemy import delete

    from mailadmin.services import access, audit, dnsrecords, domains
    from mailadmin.store.models import DnsCheck

    domain = domains.get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    active, pending = _keys(op, domain)
    if pending is None:
        raise Conflict(f"{domain.name} has no rotation pending", hint=f"start one with `mailadmin domains rotate-dkim {domain.name}`")
    record_id = f"{dnsrecords.DKIM_PREFIX}{pending.selector}"
    check = op.session.get(DnsCheck, (domain.id, record_id))
    expected = dnsrecords.dkim_value(pending.algorithm, pending.public_key)
    state = check.state if check is not None and check.expected == expected else dnsrecords.PENDING
    if state != dnsrecords.VERIFIED:
        why = f": {check.cause}" if state == dnsrecords.FAILED and check is not None and check.cause else ""
        raise Conflict(f"the DKIM record of selector {pending.selector} is {state}, not verified{why}",
                       hint=f"publish it (`mailadmin domains dns {domain.name}`), then `mailadmin domains verify {domain.name}`")
    retired = view_of(active)
    if active is not None:
        op.session.execute(delete(DnsCheck).where(DnsCheck.domain_id == domain.id,
                                                  DnsCheck.record == f"{dnsrecords.DKIM_PREFIX}{active.selector}"))
        op.session.delete(active)
        op.session.flush()  # the old row goes before the new active one exists
    pending.state = ACTIVE
    op.session.flush()
    audit.record(op, "domain.dkim_finish", f"domain:{domain.name}",
                 {"active": _audit_key(active) if active else None, "pending": _audit_key(pending)},
                 {"active": _audit_key(pending), "retired": _audit_key(active) if active else None})
    return Rotation(domain.name, FINISHED, view_of(pending), None, retired)


def cancel(op: Operation, name: str) -> Rotation:
    """Drop the pending key (and what verify stored about it); the active key stays."""
    from sqlalchemy import delete

    from mailadmin.services import access, audit, dnsrecords, domains
    from mailadmin.store.models import DnsCheck

    domain = domains.get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    active, pending = _keys(op, domain)
    if pending is None:
        raise Conflict(f"{domain.name} has no rotation pending; nothing to cancel")
    dropped = view_of(pending)
    op.session.execute(delete(DnsCheck).where(DnsCheck.domain_id == domain.id,
                                              DnsCheck.record == f"{dnsrecords.DKIM_PREFIX}{pending.selector}"))
    op.session.delete(pending)
    op.session.flush()
    audit.record(op, "domain.dkim_cancel", f"domain:{domain.name}", {"pending": _audit_key(pending)}, None)
    return Rotation(domain.name, CANCELLED, view_of(active), None, dropped)


# -- OpenDKIM export ---------------------------------------------------------------------------
KEY_TABLE, SIGNING_TABLE, KEYS_DIR = "KeyTable", "SigningTable", "keys"


@dataclass(frozen=True)
class ExportedKey:
    domain: str
    selector: str
    algorithm: str
    state: str
    path: str


@dataclass(frozen=True)
class Export:
    dir: str
    key_table: str
    signing_table: str
    keys: list[ExportedKey]
    removed: list[str]  # private-key files of keys the store no longer has (retired selectors)
    domain: str | None  # --domain, when only one domain was exported
    algorithm: str | None  # --algorithm, when only one algorithm's keys were (one OpenDKIM instance each)


def check_export_dir(raw: str):
    """The export directory as an absolute Path: an existing directory, or one to create in an
    existing directory. A file, or a directory this user cannot write, is InvalidInput (exit 2)."""
    import os
    from pathlib import Path

    if not raw.strip() or any(ord(ch) < 32 for ch in raw):
        raise InvalidInput(f"{raw!r} is not a directory path")
    path = Path(os.path.abspath(Path(raw).expanduser()))
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} is a file, not a directory", hint="name a directory (it is created when missing)")
    where = path if path.exists() else path.parent
    if not where.is_dir():
        raise InvalidInput(f"{where} does not exist", hint="create the parent directory first")
    if not os.access(where, os.W_OK | os.X_OK):
        raise InvalidInput(f"{where} is not writable by this user", hint="run as the user OpenDKIM reads its keys as, or choose another DIR")
    return path


def export(op: Operation, raw_dir: str, *, domain_name: str | None = None, algorithm: str | None = None) -> Export:
    """Write OpenDKIM's KeyTable, SigningTable (for `SigningTable refile:`) and one private-key
    file per key (active and pending, so the signer holds a pending key the moment
    `rotate-dkim --finish` runs; the SigningTable names the active one). Key files are 0600 in
    0700 directories, created with those modes and replaced atomically (a file already holding the
    same key is left as it is: a selector's key never changes); the tables are written after the
    keys they name. With `domain_name`, only that domain's lines of existing tables are replaced;
    without, the tables are rewritten whole and key files of keys no longer in the store are
    removed. With `algorithm`, only that algorithm's keys (OpenDKIM 2.11 signs with one algorithm
    per instance: one DIR per instance). Runs in a read transaction, so no store lock is held while
    files are written; `audit_export` records it afterwards. Never a key on stdout or in the audit."""
    from sqlalchemy import select

    from mailadmin.services import domains

    directory = check_export_dir(raw_dir)
    algorithm = check_algorithm(algorithm) if algorithm is not None else None
    query = select(Domain.name, DkimKey).join(DkimKey, DkimKey.domain_id == Domain.id).order_by(Domain.name, DkimKey.id)
    only = None
    if domain_name is not None:
        only = domains.get(op, domain_name).name
        query = query.where(Domain.name == only)
    if algorithm is not None:
        query = query.where(DkimKey.algorithm == algorithm)
    rows = sorted(op.session.execute(query).all(), key=lambda r: (r[0], r[1].state != ACTIVE))
    try:
        return _write_export(directory, rows, only, algorithm)
    except OSError as exc:
        import errno

        where = exc.filename or directory
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise InvalidInput(f"cannot write {where}: {exc.strerror}", hint="choose a DIR this user may write") from None
        raise Failure(f"writing {where} failed: {exc.strerror}; files already replaced hold the same keys as before") from None


def audit_export(op: Operation, done: Export) -> None:
    """The audit entry of an export: where to, what, how many keys (never a key)."""
    from mailadmin.services import audit

    audit.record(op, "dkim.export", f"dkim-export:{done.dir}", None,
                 {"dir": done.dir, "domain": done.domain, "algorithm": done.algorithm,
                  "domains": len({k.domain for k in done.keys}), "keys": len(done.keys)})


def _write_export(directory, rows, only: str | None, algorithm: str | None) -> Export:
    _make_dir(directory, private=False)
    keys_dir = directory / KEYS_DIR
    _make_dir(keys_dir, private=True)
    exported: list[ExportedKey] = []
    key_lines: list[str] = []
    signing_lines: list[str] = []
    kept: set = set()
    for domain, key in rows:
        domain_dir = keys_dir / domain
        _make_dir(domain_dir, private=True)
        path = domain_dir / f"{key.selector}.private"
        if not _holds(path, key.private_key, 0o600):
            _write_atomic(path, key.private_key, 0o600)
        kept.add(path)
        record = f"{key.selector}._domainkey.{domain}"
        key_lines.append(f"{record} {domain}:{key.selector}:{path}")
        if key.state == ACTIVE:
            signing_lines.append(f"*@{domain} {record}")
        exported.append(ExportedKey(domain, key.selector, key.algorithm, key.state, str(path)))
    key_table, signing_table = directory / KEY_TABLE, directory / SIGNING_TABLE
    if only is not None:  # keep every other domain's lines of the tables as they are
        key_lines = [line for line in _lines(key_table) if not _names_domain(line.split()[0], only, key=True)] + key_lines
        signing_lines = [line for line in _lines(signing_table) if not _names_domain(line.split()[0], only, key=False)] + signing_lines
    header = "# written by mailadmin domains export-dkim; edits are overwritten\n"
    _write_atomic(key_table, header + "".join(f"{line}\n" for line in key_lines), 0o644)
    _write_atomic(signing_table, header + "".join(f"{line}\n" for line in signing_lines), 0o644)
    removed: list[str] = []
    scan = [keys_dir / only] if only is not None else sorted(p for p in keys_dir.iterdir() if p.is_dir() and not p.is_symlink())
    for folder in scan:
        for stale in sorted(folder.glob("*.private")):
            if stale not in kept:
                stale.unlink()
                removed.append(str(stale))
        if only is None and not any(folder.iterdir()):
            folder.rmdir()
    return Export(str(directory), str(key_table), str(signing_table), exported, removed, only, algorithm)


def _names_domain(first_field: str, domain: str, *, key: bool) -> bool:
    if key:
        return first_field.lower().endswith(f"._domainkey.{domain}")
    return first_field.lower() == f"*@{domain}"


def _lines(path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _holds(path, text: str, mode: int) -> bool:
    """The file is already exactly this (a regular file, this mode, this content)."""
    import os
    import stat

    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != mode:
            return False
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeError):
        return False


def _make_dir(path, *, private: bool) -> None:
    """A directory (0700 when it holds keys, created so from the start; an existing one is
    narrowed to 0700). A symlink is refused: the keys must land where the tables say."""
    import os
    import stat

    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise InvalidInput(f"{path} is not a directory (a file or a symlink)", hint="move it away or choose another DIR") from None
    if private:
        os.chmod(path, 0o700)


def _write_atomic(path, text: str, mode: int) -> None:
    """Write a file whole under a temporary name with its final mode from the first byte, then
    rename it over the old one: a reader sees the old file or the new, never half of one."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed it further; never wider than asked
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd != -1:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
