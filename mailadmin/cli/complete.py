"""What each argument and option completes to, declared beside it: `autocompletion=ROLES`.

Each `Completer` names a kind of value. `python -m mailadmin.cli.reference --write` reads these
declarations off the commands into `completion.json`, and a Tab press is answered from that table
by `cli/completion.py` with the standard library alone: no Typer, no pydantic, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Completer:
    """A kind of value (`roles`, `users`, `choice`...), with its values when they are fixed."""

    kind: str
    values: tuple[str, ...] = ()

    def __call__(self, incomplete: str) -> list[str]:  # Typer's signature; the table path is the one used
        from mailadmin.cli.completion import values_of

        return values_of(self.kind, self.values, incomplete, {})


def choice(*values: str) -> Completer:
    return Completer("choice", tuple(values))


ROLES = Completer("roles")
PACKAGES = Completer("packages")
USERS = Completer("users")
DOMAINS = Completer("domains")
OPERATORS = Completer("operators")
ADMIN_KEYS = Completer("admin_keys")
OPERATOR_ROLES = Completer("operator_roles")
PERMISSION_KEYS = Completer("permission_keys")
LIMIT_NAMES = Completer("limit_names")
LIMIT_ASSIGNMENTS = Completer("limit_assignments")  # NAME=VALUE
CONFIG_KEYS = Completer("config_keys")
STATUSES = Completer("statuses")
SUSPENSION_CODES = Completer("suspension_codes")
LEDGER_KINDS = Completer("ledger_kinds")
FILES = Completer("files")  # left to the shell

# the names under which the commands declare them (kept for readability at the call sites)
complete_roles, complete_packages, complete_users, complete_domains = ROLES, PACKAGES, USERS, DOMAINS
