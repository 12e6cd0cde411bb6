"""`init --sample`: demo data an operator can explore. Idempotent: a second run adds nothing.

Roles, three packages (free with a 30-day plan, starter, business with credits) and a few hundred
accounts in varied states: active, suspended with various codes (some with an end, some whose end
has passed and so no longer count, some with two standing), closed, with limit overrides and IP
allow-lists. Generated from a fixed seed, inserted set-based, every row audited.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert, select, update

from mailadmin.operation import Operation
from mailadmin.services.packages import Settings
from mailadmin.store.models import Role

SAMPLE_ROLES = {
    "support": ("Support staff: sees everything, imports contacts", "viewer", ["contacts.import"]),
    "marketer": ("Campaigns, contacts and templates, no billing", None, ["campaigns", "contacts", "templates", "workflows", "senders.manage"]),
    "smtp-only": ("SMTP relay dashboards and activity", None, ["smtp.dashboard", "smtp.activity", "smtp.pricing.view"]),
}

# Typed as `packages create` would pass them: limits not named are unlimited, credit cost in
# 1/10000 credit (10 = 0.0010), bounce limit in 1/100 percent (500 = 5 %), expiry in days.
SAMPLE_PACKAGES = {
    "free": Settings(role="regular", description="Free tier: small caps, 30-day plan", expires_after=30,
                     limits=dict(hourly=50, daily=200, monthly=2000, contacts=500, segments=5, domains=1, triggers=2,
                                 evergreen_campaigns=1, threads=1, automation_actions=5, automation_monthly=1000,
                                 suppressed_domains=10, team_members=1)),
    "starter": Settings(role="regular", description="Small senders",
                        limits=dict(hourly=500, daily=5000, monthly=100000, contacts=10000, segments=50, domains=3,
                                    triggers=20, evergreen_campaigns=10, threads=4, automation_actions=50,
                                    automation_monthly=50000, suppressed_domains=100, team_members=5),
                        assets=[("node", "mta1"), ("bounce", "bounces@mail.example.net")]),
    "business": Settings(role="admin", description="Commercial ESP tier with pay-as-you-go credits", credits_enabled=True,
                         credit_cost=10, allow_overuse=True, bounce_limit=500,
                         limits=dict(hourly=5000, daily=100000, monthly=2000000, contacts=500000, domains=25,
                                     threads=16, team_members=50),
                         assets=[("node", "mta1"), ("node", "mta2"), ("bounce", "bounces@mail.example.net"),
                                 ("domain", "mail.example.net")]),
}

ACCOUNTS = 300
FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin"]
LAST = ["martin", "dubois", "smith", "garcia", "rossi", "novak", "kim", "silva", "jensen", "okafor", "tanaka", "weber", "lopez", "meyer", "ivanova"]
DOMAINS = ["example.com", "example.org", "example.net", "shop.example", "news.example"]
CODES = ["billing", "abuse", "bounces", "manual"]


def load(op: Operation) -> dict[str, int]:
    """What is missing of the sample, added; returns how many roles, packages, accounts were."""
    from mailadmin.services import roles

    created = 0
    existing = set(op.session.execute(select(Role.name)).scalars())
    for name, (description, base, grants) in SAMPLE_ROLES.items():
        if name not in existing:
            roles.create(op, name, copy_from=base, grant=grants, description=description)
            created += 1
    counts = {"roles": created}
    counts["packages"] = _packages(op)
    counts["accounts"] = _accounts(op)
    return counts


def _packages(op: Operation) -> int:
    from mailadmin.services import packages
    from mailadmin.store.models import Package

    existing = set(op.session.execute(select(Package.name)).scalars())
    made = 0
    for name, settings in SAMPLE_PACKAGES.items():
        if name not in existing:
            packages.create(op, name, settings)
            made += 1
    return made


# The people the README's examples name, active and plain, so every example runs as written.
NAMED = (("alice@example.com", "Alice Example", "business"), ("bob@example.com", "Bob Example", "starter"),
         ("carol@example.com", "Carol Example", "business"))


def _people() -> list[dict]:
    """The same few hundred people and states on every run (fixed seed), and the named few."""
    rng = random.Random(20261122)
    out = [{"email": email, "name": name, "package": package, "age_days": 3, "state": "active", "code": CODES[0],
            "override": False, "ips": False, "i": -1} for email, name, package in NAMED]
    for i in range(ACCOUNTS - len(NAMED)):  # ACCOUNTS in all, the named ones included
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        email = f"{first}.{last}{i // (len(FIRST) * len(LAST)) or ''}@{DOMAINS[i % len(DOMAINS)]}"
        roll = rng.random()
        out.append({
            "email": email,
            "name": f"{first.title()} {last.title()}",
            "package": "free" if i % 3 == 0 else "starter" if i % 3 == 1 else "business",
            "age_days": rng.randint(1, 400),
            "state": ("closed" if roll < 0.07 else "suspended" if roll < 0.17 else "double" if roll < 0.20
                      else "expired" if roll < 0.26 else "active"),
            "code": CODES[i % len(CODES)],
            "override": rng.random() < 0.12,
            "ips": rng.random() < 0.06,
            "i": i,
        })
    return out


def _accounts(op: Operation) -> int:
    from mailadmin.services import audit, status, users
    from mailadmin.store.models import AccountIP, AccountLimit, Package, Suspension, User

    session, actor, now = op.session, op.actor.name, op.now
    people = _people()
    taken = set(session.execute(select(User.email).where(User.email.in_([p["email"] for p in people]))).scalars())
    new = [p for p in people if p["email"] not in taken]
    if not new:
        return 0
    packages = {p.name: p for p in session.execute(select(Package).where(Package.name.in_(list(SAMPLE_PACKAGES)))).scalars()}
    rows = []
    for p in new:
        pkg = packages[p["package"]]
        created = now - timedelta(days=p["age_days"])
        expires = status.plan_expires_at(pkg.expires_after_days, created)
        rows.append({"email": p["email"], "name": p["name"], "package_id": pkg.id, "created_at": created, "plan_expires_at": expires})
    users.insert_owners(op, rows)
    ids = dict(session.execute(select(User.email, User.id).where(User.email.in_([p["email"] for p in new]))).all())
    accounts = dict(session.execute(select(User.email, User.account_id).where(User.email.in_([p["email"] for p in new]))).all())

    suspensions, overrides, ips, closed, changes = [], [], [], [], []
    for p in new:
        uid, email = ids[p["email"]], p["email"]
        if p["state"] in ("suspended", "double"):
            until = now + timedelta(days=7) if p["i"] % 4 == 0 else None
            suspensions.append({"user_id": uid, "code": p["code"], "reason": f"sample: {p['code']} review", "actor": actor,
                                "started_at": now - timedelta(days=2), "until": until})
            changes.append(audit.Change("user.suspend", f"user:{email}", {"status": "active"},
                                        {"status": "suspended", "code": p["code"], "until": until}))
        if p["state"] == "double":
            suspensions.append({"user_id": uid, "code": "abuse" if p["code"] != "abuse" else "billing",
                                "reason": "sample: second suspension", "actor": actor, "started_at": now - timedelta(days=1), "until": None})
            changes.append(audit.Change("user.suspend", f"user:{email}", {"status": "suspended"}, {"status": "suspended"}))
        if p["state"] == "expired":  # its end has passed: it no longer counts, no job needed
            suspensions.append({"user_id": uid, "code": p["code"], "reason": "sample: lifted by its end date", "actor": actor,
                                "started_at": now - timedelta(days=30), "until": now - timedelta(days=10)})
            changes.append(audit.Change("user.suspend", f"user:{email}", {"status": "active"},
                                        {"status": "suspended", "code": p["code"], "until": now - timedelta(days=10)}))
        if p["state"] == "closed":
            closed.append(uid)
            changes.append(audit.Change("user.close", f"user:{email}", {"status": "active"}, {"status": "closed", "reason": "sample: left"}))
        if p["override"]:
            value = None if p["i"] % 2 else 10_000 + p["i"]
            overrides.append({"account_id": accounts[email], "name": "daily", "value": value})
            changes.append(audit.Change("account.limits", f"user:{email}", {"daily": "inherit"}, {"daily": value if value is not None else "unlimited"}))
        if p["ips"]:
            cidrs = [f"198.51.100.{p['i'] % 250}/32", f"2001:db8:{p['i']:x}::/48"]
            ips += [{"account_id": accounts[email], "cidr": c} for c in cidrs]
            changes.append(audit.Change("account.allow_ip", f"user:{email}", {"ip_allow": []}, {"ip_allow": cidrs}))
    if suspensions:
        session.execute(insert(Suspension), suspensions)
    if overrides:
        session.execute(insert(AccountLimit), overrides)
    if ips:
        session.execute(insert(AccountIP), ips)
    if closed:
        session.execute(update(User).where(User.id.in_(closed)).values(status="closed", closed_reason="sample: left",
                                                                        closed_by=actor, closed_at=now))
    audit.record_many(op, changes)
    return len(new)
