"""`mailadmin roles`: permission sets over the catalog."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.options import Output, PermissionKeys, RoleName, ShowOutput, Yes

app = typer.Typer(help="Roles: named sets of permissions over the feature catalog.", no_args_is_help=True)


@app.command("list")
def roles_list(output: Output = None) -> None:
    """List roles with what they hold and who uses them.

    Example: mailadmin roles list -o json
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.output import Column, emit_list
    from mailadmin.render.roles import role_json
    from mailadmin.services import roles

    with read() as session:
        views = roles.list_roles(session)
    rows = [role_json(v) | {"permission_count": len(v.permissions)} for v in views]
    emit_list(
        rows,
        [Column("name"), Column("builtin", "Built-in"), Column("permission_count", "Permissions", justify="right"),
         Column("packages"), Column("members", justify="right"), Column("description")],
        output_format(output),
        id_key="name",
    )


@app.command("show")
def roles_show(name: RoleName, output: ShowOutput = None) -> None:
    """Show a role as the catalog tree: granted, implied and missing permissions.

    Example: mailadmin roles show support -o json
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.roles import role_tree
    from mailadmin.services import roles

    with read() as session:
        view = roles.describe(session, name)
    role_tree(view, output_format(output, allow_ids=False))


@app.command("create")
def roles_create(
    name: RoleName,
    copy_from: Annotated[Optional[str], typer.Option("--from", metavar="ROLE", help="Start from a copy of this role.", show_default=False)] = None,
    grant: Annotated[Optional[list[str]], typer.Option("--grant", "-g", metavar="KEY", help="Grant a catalog key (repeatable).", show_default=False)] = None,
    description: Annotated[Optional[str], typer.Option("--description", "-d", metavar="TEXT", help="What the role is for.", show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Create a role, from scratch or as a copy of another (--from).

    Example: mailadmin roles create support --from viewer --grant contacts.import
    """
    from mailadmin.cli.context import actor, output_format, write
    from mailadmin.render.output import Format, message
    from mailadmin.render.output import emit_json
    from mailadmin.render.roles import role_json
    from mailadmin.services import roles

    fmt = output_format(output, allow_ids=False)
    with write() as session:
        view = roles.create(session, actor(), name, copy_from=copy_from, grant=grant or [], description=description)
    _warn_inert(view)
    if fmt is Format.json:
        emit_json(role_json(view))
    else:
        message(f"created role {view.name} with {len(view.permissions)} permissions")


@app.command("grant")
def roles_grant(name: RoleName, keys: PermissionKeys) -> None:
    """Grant catalog keys to a role (a key grants its whole subtree).

    Example: mailadmin roles grant support contacts.export
    """
    from mailadmin.cli.context import actor, write
    from mailadmin.render.output import message
    from mailadmin.services import roles

    with write() as session:
        view, already = roles.grant(session, actor(), name, keys)
    if already:
        message(f"{name} already held {', '.join(already)}")
    _warn_inert(view)
    message(f"{name} now holds {len(view.permissions)} permissions")


@app.command("revoke")
def roles_revoke(name: RoleName, keys: PermissionKeys) -> None:
    """Revoke catalog keys (and their subtrees) from a role.

    Example: mailadmin roles revoke support contacts.import
    """
    from mailadmin.cli.context import actor, write
    from mailadmin.render.output import message
    from mailadmin.services import roles

    with write() as session:
        view, absent = roles.revoke(session, actor(), name, keys)
    if absent:
        message(f"{name} did not hold {', '.join(absent)}")
    still = [k for k in keys if k in view.implied]
    if still:
        message(f"still implied by other grants: {', '.join(still)}")
    message(f"{name} now holds {len(view.permissions)} permissions")


@app.command("rename")
def roles_rename(name: RoleName, new_name: Annotated[str, typer.Argument(metavar="NEW_NAME", help="The new name.", show_default=False)]) -> None:
    """Rename a custom role (packages and members keep it).

    Example: mailadmin roles rename support helpdesk
    """
    from mailadmin.cli.context import actor, write
    from mailadmin.render.output import message
    from mailadmin.services import roles

    with write() as session:
        roles.rename(session, actor(), name, new_name)
    message(f"renamed role {name} to {new_name}")


@app.command("delete")
def roles_delete(name: RoleName, yes: Yes = False) -> None:
    """Delete a custom role that no package or member uses.

    Example: mailadmin roles delete support --yes
    """
    from mailadmin.cli.context import actor, confirm, write
    from mailadmin.render.output import message
    from mailadmin.services import roles

    confirm(f"delete role {name}?", yes)
    with write() as session:
        roles.delete_role(session, actor(), name)
    message(f"deleted role {name}")


@app.command("matrix")
def roles_matrix(output: ShowOutput = None) -> None:
    """Roles x feature areas: full, partial or no access.

    Example: mailadmin roles matrix -o csv
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.roles import roles_matrix as render
    from mailadmin.services import roles

    with read() as session:
        areas, rows = roles.matrix(session)
    render(areas, rows, output_format(output, allow_ids=False))


@app.command("permissions")
def roles_permissions(
    search: Annotated[Optional[str], typer.Option("--search", "-s", metavar="TEXT", help="Only keys whose key or description contains TEXT.", show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Show the permission catalog as a tree (no store needed).

    Example: mailadmin roles permissions --search contacts
    """
    from mailadmin.catalog import catalog
    from mailadmin.cli.context import output_format
    from mailadmin.errors import NotFound
    from mailadmin.render.roles import permissions_tree

    cat = catalog()
    keys = cat.search(search) if search else list(cat.nodes)
    if not keys:
        raise NotFound(f"no permission matches {search!r}", hint="try a shorter word")
    permissions_tree(keys, output_format(output, allow_ids=False))


def _warn_inert(view) -> None:
    from mailadmin.render.output import message

    for key, needs in view.inert.items():
        message(f"warning: {key} takes effect only with one of {', '.join(needs)}")
