"""`mailadmin roles`: permission sets over the catalog."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.context import current
from mailadmin.cli.options import (Fields, ImpactDryRun, ImpactOutput, Limit, NoHeaders, Offset, Output, PermissionKeys, Quiet,
                                   RoleName, ShowOutput, Sort, Yes)
from mailadmin.render.output import LIST, SHOW

SEARCH_MAX = 200  # a search longer than any key or description matches nothing: say so

app = typer.Typer(help="Roles: named sets of permissions over the feature catalog.", no_args_is_help=True)


@app.command("list")
def roles_list(
    fields: Fields = None, no_headers: NoHeaders = False, sort: Sort = None, limit: Limit = None, offset: Offset = 0,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """List roles with what they hold and who uses them.

    Example: mailadmin roles list -o json
    """
    from mailadmin.render import roles as render
    from mailadmin.services import roles

    inv = current()
    fmt = inv.format(output, LIST)
    inv.listing(fields, no_headers, sort, limit, offset)
    with inv.read() as op:
        views = roles.list_roles(op)
    render.roles_list(inv.out, views, fmt)


@app.command("show")
def roles_show(name: RoleName, output: ShowOutput = None) -> None:
    """Show a role as the catalog tree: granted, implied and missing permissions.

    Example: mailadmin roles show support -o json
    """
    from mailadmin.render import roles as render
    from mailadmin.services import roles

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.read() as op:
        view = roles.describe(op, name)
    render.role_tree(inv.out, view, fmt)


@app.command("create")
def roles_create(
    name: RoleName,
    copy_from: Annotated[Optional[str], typer.Option("--from", metavar="ROLE", help="Start from a copy of this role.", show_default=False)] = None,
    grant: Annotated[Optional[list[str]], typer.Option("--grant", "-g", metavar="KEY", help="Grant a catalog key (repeatable).", show_default=False)] = None,
    description: Annotated[Optional[str], typer.Option("--description", "-d", metavar="TEXT", help="What the role is for.", show_default=False)] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Create a role, from scratch or as a copy of another (--from).

    Example: mailadmin roles create support --from viewer --grant contacts.import
    """
    from mailadmin.render import roles as render
    from mailadmin.services import roles

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.write() as op:
        view = roles.create(op, name, copy_from=copy_from, grant=grant or [], description=description)
    render.created(inv.out, view, fmt)


@app.command("grant")
def roles_grant(name: RoleName, keys: PermissionKeys, dry_run: ImpactDryRun = False, output: ImpactOutput = None,
                quiet: Quiet = False) -> None:
    """Grant catalog keys to a role (a key grants its whole subtree).

    Example: mailadmin roles grant support contacts.export --dry-run
    """
    _change("grant", name, keys, dry_run, output)


@app.command("revoke")
def roles_revoke(name: RoleName, keys: PermissionKeys, dry_run: ImpactDryRun = False, output: ImpactOutput = None,
                 quiet: Quiet = False) -> None:
    """Revoke catalog keys (and their subtrees) from a role.

    Example: mailadmin roles revoke support contacts.import --dry-run
    """
    _change("revoke", name, keys, dry_run, output)


def _change(which: str, name: str, keys: list[str], dry_run: bool, output) -> None:
    from mailadmin.render import access as impact
    from mailadmin.render import roles as render
    from mailadmin.services import roles

    inv = current()
    fmt = inv.format(output, SHOW)
    with (inv.read() if dry_run else inv.write()) as op:
        change = (roles.grant if which == "grant" else roles.revoke)(op, name, keys, dry_run=dry_run)
    if dry_run:
        impact.impact_report(inv.out, f"{which} {' '.join(keys)} {'to' if which == 'grant' else 'from'} {name}",
                             change.impact, fmt, dry_run=True)
    elif which == "grant":
        render.granted(inv.out, change.view, change.idle)
    else:
        render.revoked(inv.out, change.view, keys, change.idle)


@app.command("rename")
def roles_rename(name: RoleName, new_name: Annotated[str, typer.Argument(metavar="NEW_NAME", help="The new name.", show_default=False)], quiet: Quiet = False) -> None:
    """Rename a custom role (packages and members keep it).

    Example: mailadmin roles rename support helpdesk
    """
    from mailadmin.services import roles

    inv = current()
    with inv.write() as op:
        roles.rename(op, name, new_name)
    inv.out.message(f"renamed role {name} to {new_name}")


@app.command("delete")
def roles_delete(name: RoleName, yes: Yes = False, quiet: Quiet = False) -> None:
    """Delete a custom role that no package or member uses.

    Example: mailadmin roles delete support --yes
    """
    from mailadmin.services import roles

    inv = current()
    if not yes:
        with inv.read() as op:  # what would be refused is refused before anyone is asked
            roles.delete_role(op, name, dry_run=True)
        inv.confirm(f"delete role {name}?", yes)
    with inv.write() as op:
        roles.delete_role(op, name)
    inv.out.message(f"deleted role {name}")


@app.command("matrix")
def roles_matrix(output: ShowOutput = None) -> None:
    """Roles x feature areas: full, partial or no access.

    Example: mailadmin roles matrix -o csv
    """
    from mailadmin.render import roles as render
    from mailadmin.services import roles

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.read() as op:
        areas, rows = roles.matrix(op)
    render.roles_matrix(inv.out, areas, rows, fmt)


@app.command("permissions")
def roles_permissions(
    search: Annotated[Optional[str], typer.Option("--search", metavar="TEXT", help="Only keys whose key or description contains TEXT.", show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Show the permission catalog as a tree (no store needed).

    Example: mailadmin roles permissions --search contacts
    """
    from mailadmin.catalog import catalog
    from mailadmin.errors import NotFound
    from mailadmin.render import roles as render

    from mailadmin.errors import InvalidInput

    inv = current()
    cat = catalog()
    if search is not None and len(search) > SEARCH_MAX:
        raise InvalidInput(f"--search is longer than {SEARCH_MAX} characters")
    keys = cat.search(search) if search else list(cat.nodes)
    if not keys:
        raise NotFound(f"no permission matches {search!r}", hint="try a shorter word")
    render.permissions_tree(inv.out, keys, inv.format(output, SHOW))
