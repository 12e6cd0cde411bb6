"""Team members: inviting people into an account, removing them, changing their role, and moving
the account's ownership (SPEC section 1 "Users", rules 1-3; seeds 001 and 004).

A member is a User with the account's id, is_owner false and a member role; the owner holds
everything through the `owner` role implicitly (role_id NULL). Removing a member keeps the person
(account_id and role_id NULL, domain grants gone) with its history, and they still count toward
`team_members` until removed (seed 001). Every change is checked, for a client user acting through
`--as`, by services/access.py: the command's key on the account, nobody changes their own role
(rule 2), nobody alters the owner (rule 1), and nobody gives or takes away more than they hold
(rule 3; seed 001: only the owner and admins alter admins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update

from mailadmin.errors import Conflict, LimitExceeded, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, normalise_email
from mailadmin.services import access, audit, limits
from mailadmin.services.accounts import find_user, no_such_user, owner_of
from mailadmin.store.models import Account, Domain, DomainGrant, Package, Role, User
from mailadmin.vocab import ACTIVE

if TYPE_CHECKING:
    from mailadmin.services.users import UserDetail

OWNER_ROLE = "owner"  # held implicitly by the owner; never given to a member
DEMOTED_ROLE = "admin"  # what a former owner becomes (issue 9: the old owner becomes an admin member)
TEAM_LIMIT = "team_members"


# -- reading ---------------------------------------------------------------------------------
def member_count(op: Operation, account_id: int) -> int:
    """Every member of the account, with access or without (seed 001); the owner is not one."""
    return op.session.execute(
        select(func.count()).select_from(User).where(User.account_id == account_id, User.is_owner.is_(False))
    ).scalar_one()


def grants_of(op: Operation, user_id: int) -> list[dict]:
    """A person's domain grants, as the audit log records them."""
    return [
        {"domain": name, "role": role, "email_content": bool(content)}
        for name, role, content in op.session.execute(
            select(Domain.name, DomainGrant.role, DomainGrant.email_content)
            .join(Domain, Domain.id == DomainGrant.domain_id)
            .where(DomainGrant.user_id == user_id)
            .order_by(Domain.name)
        )
    ]


def _role_name(op: Operation, user: User) -> str | None:
    if user.is_owner:
        return OWNER_ROLE
    if user.role_id is None:
        return None
    return op.session.get(Role, user.role_id).name


def _gives(op: Operation, role: Role, account_id: int) -> frozenset[str]:
    """What a role effectively gives on an account: its leaves within the package role's, without
    those that take effect only beside a level it does not give (senders.manage). Rule 3 compares
    this with what the actor holds, so an owner on a package capped at `regular` may still invite
    an `admin` (who gets what the package allows, all of which the owner holds)."""
    session = op.session
    package_role = session.execute(
        select(Role).join(Package, Package.role_id == Role.id).join(Account, Account.package_id == Package.id)
        .where(Account.id == account_id)
    ).scalar_one()
    return access.gives(access.role_leaves(session, role), access.role_leaves(session, package_role))


def reachable(op: Operation, user: User, ref: UserRef) -> None:
    """A client acting through --as changes only people of its own account; anyone else reads as
    not found, named as it was typed (rule 4: what they may not see does not exist for them).
    Inside the account, `access.authorize` decides, so a member lacking team.manage hears so."""
    if not access.same_account(op, user.account_id):  # refuses first who cannot act at all (rule 8)
        raise no_such_user(ref)


def _not_self(op: Operation, user: User, doing: str) -> None:
    """Rule 2: nobody changes their own permissions (seed 001: "You cannot change your own permissions")."""
    if access.acting_user_id(op) == user.id:
        raise PermissionDenied(f"{user.email} cannot {doing}: nobody changes their own permissions (rule 2)",
                               hint="ask the account owner or an admin")


def _not_above(op: Operation, user: User, account_id: int) -> None:
    """Only those holding at least what a member's role gives may change or remove that member
    (seed 001: the owner and admins alter admins; rule 3 seen from the other side)."""
    if op.actor.is_operator or user.role_id is None:
        return
    current = op.session.get(Role, user.role_id)
    access.no_escalation(op, _gives(op, current, account_id), what=f"or take away role {current.name} (held by {user.email})")


def _member_role(op: Operation, name: str) -> Role:
    from mailadmin.services import roles

    role = roles.get(op.session, name)
    if role.name == OWNER_ROLE:
        raise Conflict("the owner role cannot be given: there is one owner per account",
                       hint="`mailadmin users transfer ACCOUNT NEW_OWNER` moves ownership")
    return role


# -- inviting --------------------------------------------------------------------------------
def invite(op: Operation, owner_ref: UserRef, email: str, role_name: str, *,
           name: str | None = None) -> tuple["UserDetail", bool]:
    """A new member of the owner's account, or a removed person joining again (history kept).
    Returns the member and whether it joined again."""
    from mailadmin.services.users import clean_name, describe

    session = op.session
    email = normalise_email(email)
    if name is not None:
        name = clean_name(name)
    owner = find_user(op, owner_ref)
    reachable(op, owner, owner_ref)
    if not owner.is_owner:
        if owner.account_id is None:
            raise Conflict(f"{owner.email} belongs to no account (removed from its team)",
                           hint="invite into an account by naming its owner")
        real = owner_of(op.session, owner.account_id)
        raise Conflict(f"{owner.email} is a team member, not an account owner",
                       hint=f"invite into its account by naming the owner: `mailadmin users invite {real.email} {email} --role {role_name}`"
                       if real else None)
    account_id = owner.account_id
    access.authorize(op, account_id=account_id)
    role = _member_role(op, role_name)
    if not op.actor.is_operator:
        access.no_escalation(op, _gives(op, role, account_id), what=f"role {role.name}")

    person = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if person is not None:
        if person.account_id == account_id and not person.is_owner:
            raise Conflict(f"{email} is already a member of the account of {owner.email}",
                           hint=f"change its role with `mailadmin users edit {email} --role ROLE`")
        if person.is_owner:
            raise Conflict(f"{email} owns an account and cannot join another",
                           hint="an owner joins a team only after transferring its own account")
        if person.account_id is not None:
            raise Conflict(f"{email} is a member of another account",
                           hint="it must be removed there first (`mailadmin users remove MEMBER`)")

    _check_room(op, owner, account_id)
    if person is None:
        person = User(email=email, name=name or "", account_id=account_id, is_owner=False, role_id=role.id, created_at=op.now)
        session.add(person)
        before = None
    else:
        before = {"account_id": None, "role": None, "name": person.name}
        person.account_id, person.role_id = account_id, role.id
        if name is not None:
            person.name = name
    session.flush()
    audit.record(op, "team.invite", f"user:{email}", before,
                 {"account_id": account_id, "owner": owner.email, "role": role.name, "name": person.name,
                  "rejoined": before is not None})
    return describe(op, person), before is not None


def _check_room(op: Operation, owner: User, account_id: int) -> None:
    """The package's team_members limit (or the account's override), with where it comes from."""
    account = op.session.get(Account, account_id)
    lim = limits.effective_limit(op, account, TEAM_LIMIT)
    if lim.value is None:
        return
    count = member_count(op, account_id)
    if count >= lim.value:
        source = limits.source_text(op, account, lim)
        raise LimitExceeded(
            f"the account of {owner.email} has {count} team members and its {TEAM_LIMIT} limit is {lim.value} ({source}); "
            "members with no access left count until removed",
            hint=f"remove one (`mailadmin users remove MEMBER`) or raise it (`mailadmin users limits {owner.email} "
                 f"--set {TEAM_LIMIT}=N`)",
        )


# -- removing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Removal:
    user_id: int
    email: str
    owner: str  # the account's owner, whose team the person leaves
    role: str | None
    grants: list[dict]


def check_remove(op: Operation, ref: UserRef) -> Removal:
    """Everything `remove` refuses, checked without changing anything (asked before a confirmation)."""
    user = find_user(op, ref)
    reachable(op, user, ref)
    if not op.actor.is_operator:
        access.authorize(op, account_id=user.account_id)
    if user.is_owner:
        raise Conflict(f"{user.email} owns the account and cannot be removed from it",
                       hint=f"transfer the account first (`mailadmin users transfer {user.email} NEW_OWNER`), "
                            f"or close it (`mailadmin users close {user.email} --reason TEXT`)")
    if user.account_id is None:
        raise Conflict(f"{user.email} was removed from its account already", hint=f"see `mailadmin users show {user.email}`")
    _not_self(op, user, "remove itself from the account")
    _not_above(op, user, user.account_id)
    owner = owner_of(op.session, user.account_id)
    return Removal(user.id, user.email, owner.email if owner else "", _role_name(op, user), grants_of(op, user.id))


def remove(op: Operation, ref: UserRef) -> tuple["UserDetail", Removal]:
    """The member leaves the account and stays in the system with its history (seed 001).
    Returns the person as it is now, and what it left."""
    from mailadmin.services.users import describe

    found = check_remove(op, ref)
    user = op.session.get(User, found.user_id)
    before = {"account_id": user.account_id, "owner": found.owner, "role": found.role, "domain_grants": found.grants}
    op.session.execute(delete(DomainGrant).where(DomainGrant.user_id == user.id))
    user.account_id = user.role_id = None
    op.session.flush()
    audit.record(op, "team.remove", f"user:{user.email}", before, {"account_id": None, "role": None, "domain_grants": []})
    return describe(op, user), found


# -- transferring ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Transfer:
    account_id: int
    old_owner_id: int
    old_owner: str
    new_owner_id: int
    new_owner: str
    new_owner_role: str | None  # the role it held as a member
    grants: list[dict]  # the domain grants it held (an owner holds everything)


def check_transfer(op: Operation, account_ref: UserRef, new_owner_ref: UserRef) -> Transfer:
    """Everything `transfer` refuses, checked without changing anything."""
    from mailadmin.services import status

    session = op.session
    named = find_user(op, account_ref)
    reachable(op, named, account_ref)
    if named.account_id is None:
        raise Conflict(f"{named.email} belongs to no account (removed from its team)",
                       hint="name the account by its owner or one of its members")
    account_id = named.account_id
    access.authorize(op, account_id=account_id)
    old = owner_of(op.session, account_id)
    new = find_user(op, new_owner_ref)
    reachable(op, new, new_owner_ref)
    if new.id == old.id:
        raise Conflict(f"{new.email} already owns the account")
    if new.account_id != account_id:
        raise Conflict(f"transferring to a non-member: {new.email} is not a member of the account of {old.email}",
                       hint=f"invite it first (`mailadmin users invite {old.email} {new.email} --role ROLE`)")
    # the account's state is its owner's: moving ownership must neither lift it nor impose a new one
    for person, who in ((old, "the account"), (new, new.email)):
        state, _why = status.effective_status(session, person, op.now)
        if state != ACTIVE:
            verb = "reopen" if state == "closed" else "unsuspend"
            raise Conflict(f"{who} is {state}: ownership moves only between active people, so no suspension or "
                           f"closing is lifted or imposed by it",
                           hint=f"`mailadmin users {verb} {person.email}` first")
    return Transfer(account_id, old.id, old.email, new.id, new.email, _role_name(op, new), grants_of(op, new.id))


def transfer(op: Operation, account_ref: UserRef, new_owner_ref: UserRef) -> tuple["UserDetail", Transfer]:
    """The member NEW_OWNER owns the account; the old owner stays as an `admin` member. Returns
    the new owner as it is now, and what moved."""
    from mailadmin.services import roles
    from mailadmin.services.users import describe

    t = check_transfer(op, account_ref, new_owner_ref)
    session = op.session
    admin = roles.get(session, DEMOTED_ROLE)
    # one owner per account (a partial unique index): the old owner steps down before the new
    # one steps up, as two statements in this order
    session.execute(update(User).where(User.id == t.old_owner_id).values(is_owner=False, role_id=admin.id))
    session.execute(update(User).where(User.id == t.new_owner_id).values(is_owner=True, role_id=None))
    session.execute(delete(DomainGrant).where(DomainGrant.user_id == t.new_owner_id))
    session.expire_all()
    audit.record(op, "team.transfer", f"user:{t.old_owner}",
                 {"owner": t.old_owner, "new_owner_role": t.new_owner_role, "new_owner_domain_grants": t.grants},
                 {"owner": t.new_owner, "old_owner_role": DEMOTED_ROLE, "account_id": t.account_id})
    return describe(op, session.get(User, t.new_owner_id)), t


# -- changing a member's role (users edit --role) --------------------------------------------
def check_role_change(op: Operation, user: User, role_name: str) -> tuple[str | None, Role]:
    """(current role name, new role) when `user`'s role may become `role_name`; refusals raised."""
    if user.is_owner:
        raise Conflict(f"{user.email} owns the account: nobody alters the owner's permissions (rule 1)",
                       hint=f"transfer the account first (`mailadmin users transfer {user.email} NEW_OWNER`)")
    if user.account_id is None:
        raise Conflict(f"{user.email} was removed from its account and holds no role",
                       hint="invite it again (`mailadmin users invite OWNER EMAIL --role ROLE`)")
    _not_self(op, user, "change its own role")
    role = _member_role(op, role_name)
    if not op.actor.is_operator:
        access.no_escalation(op, _gives(op, role, user.account_id), what=f"role {role.name}")
    _not_above(op, user, user.account_id)
    return _role_name(op, user), role
