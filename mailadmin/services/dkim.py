"""DKIM keys of sending domains: making them, naming them (selectors), reading them.

A key pair is made with `cryptography`: RSA 2048 by default, Ed25519 on request (RFC 8463). The
private key is kept as PEM PKCS#8, the form OpenDKIM reads for both algorithms; the public key as
the record's p= value: base64 of the DER SubjectPublicKeyInfo for RSA, of the raw 32-byte key for
Ed25519. A domain has one `active` key, and during a rotation one `pending` key published beside it.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from mailadmin.errors import InvalidInput
from mailadmin.operation import Operation
from mailadmin.store.models import DkimKey, Domain

ALGORITHMS = ("rsa", "ed25519")
RSA, ED25519 = ALGORITHMS
RSA_BITS = 2048
ACTIVE, PENDING = "active", "pending"
SELECTOR_MAX = 63  # the column; one DNS label's worth, even when the selector has several
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SELECTOR = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def check_algorithm(value: str) -> str:
    algorithm = value.strip().lower()
    if algorithm not in ALGORITHMS:
        raise InvalidInput(f"a DKIM algorithm is {' or '.join(ALGORITHMS)}, not {value!r}")
    return algorithm


def check_selector(value: str) -> str:
    """A selector is what goes before `._domainkey.`: DNS labels of letters, digits and hyphens
    (RFC 6376 3.1), stored lower-case."""
    selector = value.strip().lower()
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
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if algorithm == RSA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        bits: int | None = RSA_BITS
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        bits = None
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return private.decode("ascii"), base64.b64encode(public).decode("ascii"), bits


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
    private, public, bits = new_key(algorithm)
    key = DkimKey(domain_id=domain.id, selector=selector, algorithm=algorithm, bits=bits,
                  private_key=private, public_key=public, state=state, created_at=op.now)
    op.session.add(key)
    op.session.flush()
    return key
