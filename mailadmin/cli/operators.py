"""`mailadmin operators`: who may run mailadmin on this store, and their admin roles (seed 002)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import ADMIN_KEYS, OPERATOR_ROLES, OPERATORS
from mailadmin.cli.context import current
from mailadmin.cli.options import Fields, Limit, NoHeaders, Offset, Output, Quiet, ShowOutput, Sort, Yes
from mailadmin.render.output import LIST, SHOW

SEARCH_MAX = 200  # a search longer than any key or description matches nothing: say so

app = typer.Typer(help="Operators: the OS users who may run mailadmin on this store, and their admin roles.",
                  no_args_is_help=True)
roles_app = typer.Typer(help="Operator roles: named sets of admin permissions.", no_args_is_help=True)
app.add_typer(roles_app, name="roles")

OperatorName = Annotated[str, typer.Argument(metavar="NAME", help="The operator's OS login name.", autocompletion=OPERATORS,
                                             show_default=False)]
OperatorRoleName = Annotated[str, typer.Argument(metavar="ROLE", help="Operator role name (a lower-case slug).",
                                                 autocompletion=OPERATOR_ROLES, show_default=False)]
RoleOption = Annotated[str, typer.Option("--role", metavar="ROLE", help="The operator role (see `mailadmin operators roles list`).",
                                         autocompletion=OPERATOR_ROLES, show_default=False)]
Force = Annotated[bool, typer.Option("--force", help="Register someone else as the first operator, locking yourself out.")]


@app.command("add")
def operators_add(name: OperatorName, role: RoleOption, force: Force = False, output: ShowOutput = None, quiet: Quiet = False) -> None:
    """Register an OS user as an operator; once one exists, only operators may run mailadmin here.

    The first operator must hold operators.manage, and is normally yourself: registering someone
    else first would lock you out, so it needs --force.

    Example: mailadmin operators add alice --role superadmin
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.write() as op:
        result = operators.add(op, name, role, force=force)
    render.added(inv.out, result, fmt)


@app.command("remove")
def operators_remove(name: OperatorName, yes: Yes = False, quiet: Quiet = False) -> None:
    """Remove an operator (the last one able to manage operators stays while others remain).

    Example: mailadmin operators remove bob --yes
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    if not yes:
        with inv.read() as op:  # what would be refused is refused before anyone is asked
            operators.remove(op, name, dry_run=True)
        inv.confirm(f"remove operator {name}?", yes)
    with inv.write() as op:
        result = operators.remove(op, name)
    render.removed(inv.out, result)


@app.command("list")
def operators_list(
    fields: Fields = None, no_headers: NoHeaders = False, sort: Sort = None, limit: Limit = None, offset: Offset = 0,
    output: Output = None,
) -> None:
    """List operators with their roles and admin permissions.

    Example: mailadmin operators list -o json
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    fmt = inv.format(output, LIST)
    inv.listing(fields, no_headers, sort, limit, offset)
    with inv.read() as op:
        views = operators.list_operators(op)
    render.operators_list(inv.out, views, fmt)


@app.command("show")
def operators_show(name: OperatorName, output: ShowOutput = None) -> None:
    """Show an operator: its role, the admin permissions it holds, when it was added.

    Example: mailadmin operators show alice -o json
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.read() as op:
        view = operators.show(op, name)
    render.operator_show(inv.out, view, fmt)


@roles_app.command("list")
def operator_roles_list(
    fields: Fields = None, no_headers: NoHeaders = False, sort: Sort = None, limit: Limit = None, offset: Offset = 0,
    output: Output = None,
) -> None:
    """List operator roles with what they hold and who holds them.

    Example: mailadmin operators roles list -o json
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    fmt = inv.format(output, LIST)
    inv.listing(fields, no_headers, sort, limit, offset)
    with inv.read() as op:
        views = operators.list_roles(op)
    render.roles_list(inv.out, views, fmt)


@roles_app.command("show")
def operator_roles_show(name: OperatorRoleName, output: ShowOutput = None) -> None:
    """Show an operator role as the admin catalog tree: held and not held.

    Example: mailadmin operators roles show support -o json
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.read() as op:
        view = operators.describe_role(op, name)
    render.role_show(inv.out, view, fmt)


@roles_app.command("create")
def operator_roles_create(
    name: OperatorRoleName,
    grant: Annotated[Optional[list[str]], typer.Option("--grant", "-g", metavar="KEY", show_default=False, autocompletion=ADMIN_KEYS,
                                                       help="Grant an admin permission (repeatable; at least one).")] = None,
    description: Annotated[Optional[str], typer.Option("--description", "-d", metavar="TEXT", help="What the role is for.",
                                                       show_default=False)] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Create an operator role from admin permissions (a key grants its whole subtree).

    Example: mailadmin operators roles create billing --grant credits.add --grant clients.view_all
    """
    from mailadmin.render import operators as render
    from mailadmin.services import operators

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.write() as op:
        view = operators.create_role(op, name, grant=grant or [], description=description)
    render.role_created(inv.out, view, fmt)


@roles_app.command("delete")
def operator_roles_delete(name: OperatorRoleName, yes: Yes = False, quiet: Quiet = False) -> None:
    """Delete a custom operator role that no operator holds.

    Example: mailadmin operators roles delete billing --yes
    """
    from mailadmin.services import operators

    inv = current()
    if not yes:
        with inv.read() as op:  # what would be refused is refused before anyone is asked
            operators.delete_role(op, name, dry_run=True)
        inv.confirm(f"delete operator role {name}?", yes)
    with inv.write() as op:
        operators.delete_role(op, name)
    inv.out.message(f"deleted operator role {name}")


@roles_app.command("permissions")
def operator_roles_permissions(
    search: Annotated[Optional[str], typer.Option("--search", metavar="TEXT", show_default=False,
                                                  help="Only keys whose key or description contains TEXT.")] = None,
    output: ShowOutput = None,
) -> None:
    """Show the admin catalog, what operator roles range over, as a tree (no store needed).

    Example: mailadmin operators roles permissions --search clients
    """
    from mailadmin.catalog import admin_catalog
    from mailadmin.errors import InvalidInput, NotFound
    from mailadmin.render import operators as render

    inv = current()
    fmt = inv.format(output, SHOW)
    if search is not None:
        if len(search) > SEARCH_MAX:
            raise InvalidInput(f"--search is longer than {SEARCH_MAX} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in search):
            raise InvalidInput("--search must not contain control characters")
    cat = admin_catalog()
    keys = cat.search(search) if search else list(cat.nodes)
    if not keys:
        raise NotFound(f"no admin permission matches {search!r}", hint="try a shorter word")
    render.admin_permissions(inv.out, keys, fmt)
