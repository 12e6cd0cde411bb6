"""`init --sample`: demo data an operator can explore. Idempotent: a second run adds nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailadmin.store.models import Role

SAMPLE_ROLES = {
    "support": ("Support staff: sees everything, imports contacts", "viewer", ["contacts.import"]),
    "marketer": ("Campaigns, contacts and templates, no billing", None, ["campaigns", "contacts", "templates", "workflows", "senders.manage"]),
    "smtp-only": ("SMTP relay dashboards and activity", None, ["smtp.dashboard", "smtp.activity", "smtp.pricing.view"]),
}


def load(session: Session, actor: str) -> dict[str, int]:
    from mailadmin.services import roles

    created = 0
    existing = set(session.execute(select(Role.name)).scalars())
    for name, (description, base, grants) in SAMPLE_ROLES.items():
        if name not in existing:
            roles.create(session, actor, name, copy_from=base, grant=grants, description=description)
            created += 1
    return {"roles": created}
