"""`mailadmin users can` and `users access`: the access engine's answers, for people and programs.

Kept beside cli/users.py (which registers them) so the team commands and these grow apart."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import PERMISSION_KEYS
from mailadmin.cli.context import current
from mailadmin.cli.options import Quiet, ShowOutput, UserRef
from mailadmin.render.output import SHOW

Domain = Annotated[Optional[str], typer.Option("--domain", metavar="DOMAIN", show_default=False,
                                              help="Ask about this sending domain (grants on it count).")]


def users_can(
    user: UserRef,
    key: Annotated[Optional[str], typer.Argument(metavar="KEY", autocompletion=PERMISSION_KEYS, show_default=False,
                                                 help="A catalog key (campaigns.edit); an area asks for every level.")] = None,
    domain: Domain = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show every check on the way, the rule that decided, and "
                                                            "what would allow a denied request.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="Print every key the user may use (on --domain).")] = False,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """May USER use KEY? Exit 0 yes, 1 no, with one line saying why (kubectl auth can-i's contract).

    Example: mailadmin users can bob@example.com campaigns.send --explain
    """
    from mailadmin.cli import parse
    from mailadmin.errors import ExitCode, InvalidInput
    from mailadmin.render import access as render
    from mailadmin.services import access

    inv = current()
    fmt = inv.format(output, SHOW)
    if list_ == (key is not None):
        raise InvalidInput("give a KEY, or --list for every key the user may use", hint="see `mailadmin users can --help`")
    ref = parse.user_ref(user)
    if list_:
        with inv.read() as op:
            email, on, keys = access.allowed(op, ref, domain=domain)
        render.allowed_list(inv.out, email, on, keys, fmt)
        return
    key = access.check_key(key)  # an unknown key is exit 2 before the store is opened
    with inv.read() as op:
        decision = access.ask(op, ref, key, domain=domain)
    render.answer(inv.out, decision, fmt, explain=explain)
    if not decision.allowed:
        raise typer.Exit(ExitCode.FAILURE)


def users_access(user: UserRef, domain: Domain = None, output: ShowOutput = None) -> None:
    """The user's effective permissions: feature areas x levels, with locks and their reasons.

    Example: mailadmin users access bob@example.com --domain example.com
    """
    from mailadmin.cli import parse
    from mailadmin.render import access as render
    from mailadmin.services import access

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(user)
    with inv.read() as op:
        email, on, rows = access.access_of(op, ref, domain=domain)
    render.access_matrix(inv.out, email, on, rows, fmt)


def register(app: typer.Typer) -> None:
    app.command("can")(users_can)
    app.command("access")(users_access)
