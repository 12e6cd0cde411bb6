"""Operators and operator roles as people and scripts read them, and the admin catalog tree."""

from __future__ import annotations

from typing import Any

from mailadmin.catalog import admin_catalog
from mailadmin.render.output import Column, Format, Output, counted, view
from mailadmin.render.roles import mark

OPERATOR = view("operator", "name", "role", "permissions", "created_at")
OPERATOR_ROLE = view("operator_role", "name", "description", "builtin", "grants", "permissions", "operators")
OPERATOR_ROLE_ROW = view("operator_role_row", *OPERATOR_ROLE.fields, "permission_count", "operator_count")
ADMIN_PERMISSION = view("admin_permission", "key", "description", "parent", "leaf")

# a role names what its holder may do; -o wide (and csv) spell the permissions out
OPERATOR_COLUMNS = [Column("name"), Column("role"), Column("created_at", "Created"), Column("permissions", wrap=True, wide=True)]
ROLE_COLUMNS = [Column("name"), Column("builtin", "Built-in", wide=True), Column("permission_count", "Permissions", justify="right"),
                Column("operator_count", "Operators", justify="right"), Column("grants", wrap=True, wide=True),
                Column("description", wrap=True)]
SHOW_FIELDS = [Column("name"), Column("role"), Column("permissions"), Column("created_at", "Created")]


# -- operators -------------------------------------------------------------------------------
def operator_json(v) -> dict[str, Any]:
    return OPERATOR(name=v.name, role=v.role, permissions=v.permissions, created_at=v.created_at)


def operators_list(out: Output, views, fmt: Format) -> None:
    out.rows([operator_json(v) for v in views], OPERATOR_COLUMNS, fmt, id_key="name", shape=OPERATOR,
             empty="no operators: whoever runs mailadmin has full rights (single-operator mode)")


def operator_show(out: Output, v, fmt: Format) -> None:
    out.record(operator_json(v), fmt, fields=SHOW_FIELDS)


def added(out: Output, result, fmt: Format) -> None:
    v = result.operator
    if fmt is Format.json:
        out.json(operator_json(v))
    out.message(f"added operator {v.name} (role {v.role})")
    if result.first:
        out.message("from now on only registered operators may run mailadmin on this store")
    if not result.runner_registered:
        out.message(f"warning: you ({result.runner}) are not a registered operator: you are locked out of this store "
                    f"until an operator with operators.manage adds you")


def removed(out: Output, result) -> None:
    out.message(f"removed operator {result.operator.name}")
    if result.last:
        out.message("no operators remain: the store is back in single-operator mode (whoever runs mailadmin has full rights)")
    elif result.runner_removed:
        out.message("you are no longer a registered operator: you can no longer run mailadmin on this store")


# -- operator roles --------------------------------------------------------------------------
def role_json(v) -> dict[str, Any]:
    return OPERATOR_ROLE(name=v.name, description=v.description, builtin=v.builtin, grants=v.grants,
                         permissions=v.permissions, operators=v.operators)


def roles_list(out: Output, views, fmt: Format) -> None:
    rows = [OPERATOR_ROLE_ROW(**role_json(v), permission_count=len(v.permissions), operator_count=len(v.operators))
            for v in views]
    out.rows(rows, ROLE_COLUMNS, fmt, id_key="name", shape=OPERATOR_ROLE_ROW)


def role_created(out: Output, v, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(role_json(v))
    out.message(f"created operator role {v.name} with {counted(len(v.permissions), 'admin permission')}")


def role_show(out: Output, v, fmt: Format) -> None:
    cat = admin_catalog()
    held = set(v.permissions)
    if fmt is Format.json:
        out.json(role_json(v))
        return
    if fmt is Format.csv:
        out.rows([{"key": k, "state": "granted" if k in held else "missing"} for k in cat.leaves],
                 [Column("key"), Column("state")], fmt)
        return
    from rich.markup import escape
    from rich.tree import Tree

    label = f"[bold]{escape(v.name)}[/]" + (" (built-in)" if v.builtin else "")
    if v.description:
        label += f" - {escape(v.description)}"
    tree = Tree(label, guide_style="dim")

    def add(branch, key: str) -> None:
        node = cat.nodes[key]
        if node.children:
            leaves = cat.leaves_under(key)
            sub = branch.add(f"{key}  [dim]{sum(leaf in held for leaf in leaves)}/{len(leaves)}[/]")
            for child in node.children:
                add(sub, child)
        else:
            branch.add(f"{mark(out, 'granted' if key in held else 'missing')} {key}  [dim]{escape(node.description)}[/]")

    for area in cat.areas:
        add(tree, area)
    out.print(tree)
    out.print(f"{mark(out, 'granted')} held  {mark(out, 'missing')} not held", style=None)
    out.print(f"operators holding it: {escape(', '.join(v.operators)) or 'none'}", style="dim")


def admin_permissions(out: Output, keys: list[str], fmt: Format) -> None:
    cat = admin_catalog()
    if fmt is Format.json:
        out.json([ADMIN_PERMISSION(key=k, description=cat.nodes[k].description, parent=cat.nodes[k].parent,
                                   leaf=not cat.nodes[k].children) for k in keys])
        return
    if fmt is Format.csv:
        out.rows([{"key": k, "description": cat.nodes[k].description} for k in keys],
                 [Column("key"), Column("description")], fmt)
        return
    from rich.markup import escape
    from rich.tree import Tree

    wanted = set(keys)
    tree = Tree("[bold]admin permissions[/]", guide_style="dim")
    branches: dict[str, Any] = {}
    for key in keys:
        node = cat.nodes[key]
        parent = branches.get(node.parent) if node.parent in wanted else tree
        branches[key] = (parent or tree).add(f"[bold]{key}[/]  {escape(node.description)}")
    out.print(tree)
