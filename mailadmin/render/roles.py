"""Roles as people read them: the catalog tree with marks, and the roles x areas matrix."""

from __future__ import annotations

from typing import Any

from mailadmin.catalog import catalog
from mailadmin.render.output import Column, Format, Output, view

ROLE = view("role", "name", "description", "builtin", "grants", "permissions", "implied", "inert", "packages", "members")
ROLE_ROW = view("role_row", *ROLE.fields, "permission_count")
MATRIX_ROW = view("matrix_row", "role", "areas")
PERMISSION = view("permission", "key", "description", "parent", "implies", "requires_any", "leaf")
LIST_COLUMNS = [Column("name"), Column("builtin", "Built-in", wide=True), Column("permission_count", "Permissions", justify="right"),
                Column("packages", wrap=True), Column("members", justify="right"), Column("description", wrap=True)]

MARKS = {  # (terminal, ascii)
    "granted": ("[green]✔[/]", "[x]"),
    "implied": ("[cyan]↳[/]", "[+]"),
    "inert": ("[yellow]![/]", "[!]"),
    "missing": ("[dim]·[/]", "[ ]"),
    "full": ("[green]✔[/]", "full"),
    "partial": ("[yellow]◐[/]", "partial"),
    "none": ("[dim]·[/]", "-"),
}


def mark(out: Output, name: str) -> str:
    fancy, ascii_ = MARKS[name]
    if out.plain():
        from rich.markup import escape

        return escape(ascii_)  # "[x]" would otherwise be read as a markup tag
    return fancy


def role_json(v) -> dict[str, Any]:
    return ROLE(name=v.name, description=v.description, builtin=v.builtin, grants=v.grants, permissions=v.permissions,
                implied=v.implied, inert=v.inert, packages=v.packages, members=v.members)


def roles_list(out: Output, views, fmt: Format) -> None:
    rows = [ROLE_ROW(**role_json(v), permission_count=len(v.permissions)) for v in views]
    out.rows(rows, LIST_COLUMNS, fmt, id_key="name", shape=ROLE_ROW)


def created(out: Output, v, fmt: Format) -> None:
    inert_warnings(out, v)
    if fmt is Format.json:
        out.json(role_json(v))
    else:
        out.message(f"created role {v.name} with {len(v.permissions)} permissions")


def granted(out: Output, v, already: list[str]) -> None:
    if already:
        out.message(f"{v.name} already held {', '.join(already)}")
    inert_warnings(out, v)
    out.message(f"{v.name} now holds {len(v.permissions)} permissions")


def revoked(out: Output, v, keys: list[str], absent: list[str]) -> None:
    if absent:
        out.message(f"{v.name} did not hold {', '.join(absent)}")
    still = [k for k in keys if k in v.implied]
    if still:
        out.message(f"still implied by other grants: {', '.join(still)}")
    out.message(f"{v.name} now holds {len(v.permissions)} permissions")


def inert_warnings(out: Output, v) -> None:
    for key, needs in v.inert.items():
        out.message(f"warning: {key} takes effect only with one of {', '.join(needs)}")


def role_tree(out: Output, view, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(role_json(view))
        return
    if fmt is Format.csv:
        rows = [{"key": k, "state": state} for k, state in _leaf_states(view)]
        out.rows(rows, [Column("key"), Column("state")], fmt)
        return
    from rich.markup import escape
    from rich.tree import Tree

    label = f"[bold]{escape(view.name)}[/]" + (" (built-in)" if view.builtin else "")
    if view.description:
        label += f" - {escape(view.description)}"
    tree = Tree(label, guide_style="dim")
    states = dict(_leaf_states(view))
    cat = catalog()

    def add(branch, key: str) -> None:
        node = cat.nodes[key]
        if node.children:
            leaves = cat.leaves_under(key)
            held = sum(states[leaf] in ("granted", "implied") for leaf in leaves)
            sub = branch.add(f"{key}  [dim]{held}/{len(leaves)}[/]")
            for child in node.children:
                add(sub, child)
        else:
            state = states[key]
            note = f"  [dim]needs one of {', '.join(view.inert[key])}[/]" if state == "inert" else ""
            branch.add(f"{mark(out, state)} {key}  [dim]{escape(node.description)}[/]{note}")

    for area in cat.areas:
        add(tree, area)
    out.print(tree)
    footer = f"packages: {', '.join(view.packages) or 'none'}; members holding it: {view.members}"
    out.print(f"{mark(out, 'granted')} granted  {mark(out, 'implied')} implied  {mark(out, 'inert')} inert  "
              f"{mark(out, 'missing')} not held", style=None)
    out.print(footer, style="dim")


def _leaf_states(view) -> list[tuple[str, str]]:
    granted, implied = set(view.granted), set(view.implied)
    out = []
    for leaf in catalog().leaves:
        if leaf in view.inert:
            state = "inert"
        elif leaf in granted:
            state = "granted"
        elif leaf in implied:
            state = "implied"
        else:
            state = "missing"
        out.append((leaf, state))
    return out


def roles_matrix(out: Output, areas: list[str], rows: list[tuple[str, dict[str, str]]], fmt: Format) -> None:
    if fmt is Format.json:
        out.json([MATRIX_ROW(role=name, areas=cells) for name, cells in rows])
        return
    if fmt is Format.csv:
        out.rows([{"role": name, **cells} for name, cells in rows], [Column("role"), *(Column(a) for a in areas)], fmt)
        return
    names = [name for name, _ in rows]
    cells = {name: c for name, c in rows}
    width = out.console().width
    # Roles as rows, like seed 000's table, when it fits; otherwise areas as rows, with as many
    # roles side by side as fit whole, and further tables for the rest: a header (a role, an
    # area) is never split inside a word.
    if max(map(len, names), default=4) + sum(len(a) + 3 for a in areas) + 4 <= width:
        table = out.table("Roles x areas", pad_edge=False)
        table.add_column("role", style="bold", no_wrap=True)
        for area in areas:
            table.add_column(area, justify="center", no_wrap=True)
        for name in names:
            table.add_row(name, *(mark(out, cells[name][a]) for a in areas))
        out.print(table)
    else:
        for group in _fitting(names, width - max(map(len, areas)) - 4):
            table = out.table("Areas x roles", pad_edge=False)
            table.add_column("area", style="bold", no_wrap=True)
            for name in group:
                table.add_column(name, justify="center", no_wrap=True, min_width=len(name))
            for area in areas:
                table.add_row(area, *(mark(out, cells[name][area]) for name in group))
            out.print_whole(table)
    if not out.plain():
        out.print(f"{mark(out, 'full')} full  {mark(out, 'partial')} partial  {mark(out, 'none')} none", style="dim")


def _fitting(names: list[str], room: int) -> list[list[str]]:
    """Role names in runs that fit `room` columns side by side (at least one a run)."""
    runs: list[list[str]] = [[]]
    used = 0
    for name in names:
        need = len(name) + 3
        if runs[-1] and used + need > room:
            runs.append([])
            used = 0
        runs[-1].append(name)
        used += need
    return runs


def permissions_tree(out: Output, keys: list[str], fmt: Format) -> None:
    cat = catalog()
    if fmt is Format.json:
        out.json([
            PERMISSION(key=k, description=cat.nodes[k].description, parent=cat.nodes[k].parent,
                       implies=list(cat.nodes[k].implies), requires_any=list(cat.nodes[k].requires_any),
                       leaf=not cat.nodes[k].children)
            for k in keys
        ])
        return
    if fmt is Format.csv:
        out.rows(
            [{"key": k, "description": cat.nodes[k].description, "implies": list(cat.nodes[k].implies),
              "requires_any": list(cat.nodes[k].requires_any)} for k in keys],
            [Column("key"), Column("description"), Column("implies"), Column("requires_any")], fmt)
        return
    from rich.markup import escape
    from rich.tree import Tree

    wanted = set(keys)
    tree = Tree("[bold]permissions[/]", guide_style="dim")
    branches: dict[str, Any] = {}
    for key in keys:
        node = cat.nodes[key]
        extra = ""
        if node.implies:
            extra += f"  [dim]implies {', '.join(node.implies)}[/]"
        if node.requires_any:
            extra += f"  [yellow]needs one of {', '.join(node.requires_any)}[/]"
        parent = branches.get(node.parent) if node.parent in wanted else tree
        branches[key] = (parent or tree).add(f"[bold]{key}[/]  {escape(node.description)}{extra}")
    out.print(tree)
