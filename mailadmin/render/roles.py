"""Roles as people read them: the catalog tree with marks, and the roles x areas matrix."""

from __future__ import annotations

from typing import Any

from mailadmin.catalog import catalog
from mailadmin.render.output import Format, console, emit_json, emit_list, Column, new_table, plain

MARKS = {  # (terminal, ascii)
    "granted": ("[green]✔[/]", "[x]"),
    "implied": ("[cyan]↳[/]", "[+]"),
    "inert": ("[yellow]![/]", "[!]"),
    "missing": ("[dim]·[/]", "[ ]"),
    "full": ("[green]✔[/]", "full"),
    "partial": ("[yellow]◐[/]", "partial"),
    "none": ("[dim]·[/]", "-"),
}


def mark(name: str) -> str:
    fancy, ascii_ = MARKS[name]
    if plain():
        from rich.markup import escape

        return escape(ascii_)  # "[x]" would otherwise be read as a markup tag
    return fancy


def role_json(view) -> dict[str, Any]:
    return {
        "name": view.name,
        "description": view.description,
        "builtin": view.builtin,
        "grants": view.grants,
        "permissions": view.permissions,
        "implied": view.implied,
        "inert": view.inert,
        "packages": view.packages,
        "members": view.members,
    }


def role_tree(view, fmt: Format) -> None:
    if fmt is Format.json:
        emit_json(role_json(view))
        return
    if fmt is Format.csv:
        rows = [{"key": k, "state": state} for k, state in _leaf_states(view)]
        emit_list(rows, [Column("key"), Column("state")], fmt)
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
            branch.add(f"{mark(state)} {key}  [dim]{escape(node.description)}[/]{note}")

    for area in cat.areas:
        add(tree, area)
    out = console()
    out.print(tree)
    footer = f"packages: {', '.join(view.packages) or 'none'}; members holding it: {view.members}"
    out.print(f"{mark('granted')} granted  {mark('implied')} implied  {mark('inert')} inert  {mark('missing')} not held", style=None)
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


def roles_matrix(areas: list[str], rows: list[tuple[str, dict[str, str]]], fmt: Format) -> None:
    if fmt is Format.json:
        emit_json([{"role": name, "areas": cells} for name, cells in rows])
        return
    if fmt is Format.csv:
        emit_list([{"role": name, **cells} for name, cells in rows], [Column("role"), *(Column(a) for a in areas)], fmt)
        return
    names = [name for name, _ in rows]
    cells = {name: c for name, c in rows}
    out = console()
    # Roles as rows, like seed 000's table, when it fits; otherwise areas as rows, so that a
    # narrow terminal folds nothing but long role names.
    wide = max(map(len, names), default=4) + sum(len(a) + 3 for a in areas) + 4
    if wide <= out.width:
        table = new_table("Roles x areas", pad_edge=False)
        table.add_column("role", style="bold", no_wrap=True)
        for area in areas:
            table.add_column(area, justify="center")
        for name in names:
            table.add_row(name, *(mark(cells[name][a]) for a in areas))
    else:
        table = new_table("Areas x roles", pad_edge=False)
        table.add_column("area", style="bold", no_wrap=True)
        for name in names:
            table.add_column(name, justify="center", overflow="fold")
        for area in areas:
            table.add_row(area, *(mark(cells[name][area]) for name in names))
    out.print(table)
    if not plain():
        console().print(f"{mark('full')} full  {mark('partial')} partial  {mark('none')} none", style="dim")


def permissions_tree(keys: list[str], fmt: Format) -> None:
    cat = catalog()
    if fmt is Format.json:
        emit_json([
            {"key": k, "description": cat.nodes[k].description, "parent": cat.nodes[k].parent,
             "implies": list(cat.nodes[k].implies), "requires_any": list(cat.nodes[k].requires_any),
             "leaf": not cat.nodes[k].children}
            for k in keys
        ])
        return
    if fmt is Format.csv:
        emit_list(
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
    console().print(tree)
