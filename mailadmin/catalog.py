"""The permission catalog: a tree of dotted keys loaded from `catalog.toml`.

Pure Python (no store, no Rich) so that roles, packages, the access engine and completion can
all share it cheaply. A *leaf* is a key with no children; every set of granted keys is reasoned
about as the set of leaves it covers.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Iterable

from mailadmin.errors import InvalidInput


@dataclass(frozen=True)
class Node:
    key: str
    description: str
    implies: tuple[str, ...] = ()
    requires_any: tuple[str, ...] = ()
    reads: bool = False  # changes nothing: what an expired plan keeps
    restricted: bool = False  # reaches only the owner, `admin` members and the domain's admins
    children: list[str] = field(default_factory=list, compare=False, hash=False)

    @property
    def parent(self) -> str | None:
        return self.key.rpartition(".")[0] or None

    @property
    def area(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def depth(self) -> int:
        return self.key.count(".")


class Catalog:
    """The whole tree, in file order, with the set algebra every rule needs."""

    def __init__(self, nodes: list[Node], *, noun: str = "permission key",
                 search_hint: str = "see `mailadmin roles permissions --search TEXT`") -> None:
        self.noun, self.search_hint = noun, search_hint
        self.nodes: dict[str, Node] = {}
        for node in nodes:
            if node.key in self.nodes:
                raise ValueError(f"catalog: duplicate key {node.key}")
            if node.parent and node.parent not in self.nodes:
                raise ValueError(f"catalog: {node.key} listed before its parent")
            self.nodes[node.key] = node
            if node.parent:
                self.nodes[node.parent].children.append(node.key)
        for node in self.nodes.values():
            for other in (*node.implies, *node.requires_any):
                if other not in self.nodes:
                    raise ValueError(f"catalog: {node.key} names unknown key {other}")
        self.areas: list[str] = [k for k, n in self.nodes.items() if n.parent is None]
        self.leaves: list[str] = [k for k, n in self.nodes.items() if not n.children]
        self.reading: frozenset[str] = frozenset(k for k in self.leaves if self.nodes[k].reads)
        self.restricted: frozenset[str] = frozenset(k for k in self.leaves if self.nodes[k].restricted)
        self._leaf_order = {k: i for i, k in enumerate(self.leaves)}

    # -- validation -------------------------------------------------------------------------
    def check(self, key: str) -> str:
        """Return the key if the catalog has it (matched whole: `chat\n` is not `chat`); otherwise
        refuse it, suggesting the closest."""
        if key in self.nodes:
            return key
        close = difflib.get_close_matches(key.strip(), list(self.nodes), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else self.search_hint
        raise InvalidInput(f"unknown {self.noun} {key!r}", hint=hint)

    # -- set algebra ------------------------------------------------------------------------
    def leaves_under(self, key: str) -> list[str]:
        node = self.nodes[key]
        if not node.children:
            return [key]
        out: list[str] = []
        for child in node.children:
            out.extend(self.leaves_under(child))
        return out

    def expand(self, keys: Iterable[str]) -> set[str]:
        """The leaves that a set of granted keys covers (granting a node grants its subtree)."""
        out: set[str] = set()
        for key in keys:
            out.update(self.leaves_under(key))
        return out

    def with_implied(self, leaves: Iterable[str]) -> set[str]:
        """Close a set of leaves over `implies` (edit brings view, and so on)."""
        out = set(leaves)
        todo = list(out)
        while todo:
            for implied in self.nodes[todo.pop()].implies:
                for leaf in self.leaves_under(implied):
                    if leaf not in out:
                        out.add(leaf)
                        todo.append(leaf)
        return out

    def compress(self, leaves: Iterable[str]) -> list[str]:
        """The smallest list of keys whose subtrees cover exactly these leaves, in catalog order."""
        held = set(leaves)
        out: list[str] = []

        def walk(key: str) -> None:
            if set(self.leaves_under(key)) <= held:
                out.append(key)
                return
            for child in self.nodes[key].children:
                walk(child)

        for area in self.areas:
            walk(area)
        return out

    def ordered(self, leaves: Iterable[str]) -> list[str]:
        return sorted(leaves, key=lambda k: self._leaf_order[k])

    def unmet_requirement(self, key: str, held: set[str]) -> tuple[str, ...] | None:
        """The `requires_any` list of `key` when none of it is held, else None."""
        needs = self.nodes[key].requires_any
        if needs and not any(set(self.leaves_under(n)) & held for n in needs):
            return needs
        return None

    def search(self, text: str) -> list[str]:
        """Keys whose key or description contains the text, plus their ancestors (for a tree)."""
        needle = text.lower().strip()
        hits = [k for k, n in self.nodes.items() if needle in k.lower() or needle in n.description.lower()]
        keep: set[str] = set()
        for key in hits:
            keep.add(key)
            node = self.nodes[key]
            while node.parent:
                keep.add(node.parent)
                node = self.nodes[node.parent]
            keep.update(self._descendants(key))
        return [k for k in self.nodes if k in keep]

    def _descendants(self, key: str) -> list[str]:
        out: list[str] = []
        for child in self.nodes[key].children:
            out.append(child)
            out.extend(self._descendants(child))
        return out


def _load(file: str) -> list[Node]:
    data = tomllib.loads(resources.files("mailadmin").joinpath(file).read_text(encoding="utf-8"))
    return [
        Node(
            key=entry["key"],
            description=entry["description"],
            implies=tuple(entry.get("implies", ())),
            requires_any=tuple(entry.get("requires_any", ())),
            reads=entry.get("reads", False),
            restricted=entry.get("restricted", False),
        )
        for entry in data["permission"]
    ]


@cache
def catalog() -> Catalog:
    """The feature catalog: what client users' roles, packages and grants range over."""
    return Catalog(_load("catalog.toml"))


@cache
def admin_catalog() -> Catalog:
    """The admin catalog: what operator roles range over (seed 002's administrator permissions)."""
    return Catalog(_load("admin_catalog.toml"), noun="admin permission",
                   search_hint="see `mailadmin operators roles permissions`")
