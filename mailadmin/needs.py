"""What each command needs, declared once: the admin permission an operator must hold, and what a
client user acting through `--as` must hold. The invocation checks the operator's part before a
command touches the store; services check the client's part on the account or domain they act on
(`services/access.authorize`). The README's table is made from this one (`cli/reference.py`).

Light on purpose (no store, no Typer): the reference generator and the invocation both read it.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a client user acting through --as needs, besides a catalog key checked on the target:
ANYONE = "anyone"  # nothing: platform data every user may read (the catalog, roles)
VISIBLE = "visible"  # only what their visibility allows (SPEC section 1, rule 4)
OPERATORS = "operators only"  # an operator action: a client user never holds it


@dataclass(frozen=True)
class Need:
    admin: str | None  # the admin permission (admin_catalog.toml) an operator needs; None: any operator
    client: str  # a catalog key checked on the target account or domain, or VISIBLE, ANYONE, OPERATORS
    note: str = ""  # what else the command checks, in a few words (the README shows it)
    writes: "Need | None" = None  # when changing the store needs more than reading (users limits --set)

    def for_writing(self, writing: bool) -> "Need":
        return self.writes if writing and self.writes is not None else self


_OPS = OPERATORS
NEEDS: dict[str, Need] = {
    "init": Need("operators.manage", _OPS),
    "db upgrade": Need("operators.manage", _OPS),
    "db backup": Need("clients.view_all", _OPS),
    "db status": Need(None, _OPS),
    "config show": Need(None, ANYONE, note="the local config file; no store"),
    "config set": Need(None, ANYONE, note="the local config file; no store"),
    "config path": Need(None, ANYONE, note="the local config file; no store"),
    "roles list": Need(None, ANYONE),
    "roles show": Need(None, ANYONE),
    "roles matrix": Need(None, ANYONE),
    "roles permissions": Need(None, ANYONE),
    "roles create": Need("roles.create", _OPS),
    "roles grant": Need("roles.edit", _OPS),
    "roles revoke": Need("roles.edit", _OPS),
    "roles rename": Need("roles.edit", _OPS),
    "roles delete": Need("roles.delete", _OPS),
    "packages list": Need(None, _OPS),
    "packages show": Need(None, _OPS),
    "packages create": Need("packages.create", _OPS),
    "packages edit": Need("packages.edit", _OPS),
    "packages assets": Need(None, _OPS, writes=Need("packages.edit", _OPS)),
    "packages delete": Need("packages.delete", _OPS),
    "users create": Need("clients.add", _OPS),
    "users show": Need("clients.view_all", VISIBLE),
    "users list": Need("clients.view_all", VISIBLE),
    "users can": Need("clients.view_all", VISIBLE),
    "users access": Need("clients.view_all", VISIBLE),
    "users edit": Need("clients.edit", "team.manage",
                       note="--role: not one's own, not the owner's, no role holding more than one's own; "
                            "--package and --expires: operators only"),
    "users limits": Need("clients.view_all", VISIBLE, writes=Need("clients.edit", _OPS)),
    "users usage": Need("clients.view_all", VISIBLE, note="--over: operators only", writes=Need("clients.edit", _OPS)),
    "users record": Need("clients.edit", _OPS),
    "users import": Need("clients.add", _OPS, note="--update: clients.edit too"),
    "users suspend": Need("clients.edit", _OPS),
    "users unsuspend": Need("clients.edit", _OPS),
    "users close": Need("clients.delete", "account.delete"),
    "users reopen": Need("clients.delete", "account.delete"),
    "users delete": Need("clients.delete", "account.delete"),
    "users allow-ip": Need("clients.edit", _OPS),
    "users deny-ip": Need("clients.edit", _OPS),
    "users invite": Need("clients.edit", "team.manage", note="no role holding more than one's own"),
    "users remove": Need("clients.edit", "team.manage", note="not oneself, not the owner"),
    "users transfer": Need("clients.edit", "account.transfer", note="the new owner is a member of the account"),
    "domains add": Need("clients.edit", "domains.manage"),
    "domains list": Need("clients.view_all", VISIBLE, note="domains the user has domains.view on"),
    "domains show": Need("clients.view_all", "domains.view", note="on that domain"),
    "domains remove": Need("clients.edit", "domains.manage", note="on that domain"),
    "domains grant": Need("clients.edit", "domains.manage",
                          note="on that domain; not to oneself; --email-content only by who holds it there"),
    "domains revoke": Need("clients.edit", "domains.manage", note="on that domain; not one's own grant"),
    "domains set": Need("clients.edit", "domains.manage", note="on that domain"),
    "domains dns": Need("clients.view_all", "domains.view", note="on that domain"),
    "domains verify": Need("clients.edit", "domains.manage", note="on that domain"),
    "domains credentials": Need("clients.view_all", "domains.credentials",
                                note="on that domain; --export-passwd: operators only",
                                writes=Need("clients.edit", "domains.credentials", note="on that domain")),
    "domains rotate-dkim": Need("clients.edit", "domains.credentials", note="on that domain"),
    "domains export-dkim": Need("clients.edit", _OPS, note="writes private keys to files"),
    "credits balance": Need("clients.view_all", "billing.view"),
    "credits history": Need("clients.view_all", "billing.view"),
    "credits list": Need("clients.view_all", _OPS),
    "credits verify": Need("clients.view_all", _OPS),
    "credits add": Need("credits.add", _OPS),
    "credits deduct": Need("credits.add", _OPS),
    "credits adjust": Need("credits.add", _OPS),
    "audit list": Need("clients.view_all", _OPS),
    "audit head": Need("clients.view_all", _OPS),
    "audit verify": Need("clients.view_all", _OPS),
    "export": Need("clients.view_all", _OPS, note="--with-secrets: operators.manage"),
    "apply": Need("operators.manage", _OPS, note="it may change roles, packages, accounts, domains and operators"),
    "batch": Need(None, ANYONE, note="each line needs what its own command needs"),
    "operators add": Need("operators.manage", _OPS),
    "operators remove": Need("operators.manage", _OPS),
    "operators list": Need(None, _OPS),
    "operators show": Need(None, _OPS),
    "operators roles list": Need(None, _OPS),
    "operators roles show": Need(None, _OPS),
    "operators roles permissions": Need(None, ANYONE, note="the admin catalog; no store"),
    "operators roles create": Need("operators.manage", _OPS),
    "operators roles delete": Need("operators.manage", _OPS),
}

# A command that opens the store and is missing above is an operator action, checked as
# strictly as possible (tests/test_needs.py requires every command to be declared).
UNDECLARED = Need("operators.manage", _OPS)


def need_of(command: str) -> Need:
    """The need of a command named by its words after `mailadmin` ("users invite")."""
    return NEEDS.get(command, UNDECLARED)
