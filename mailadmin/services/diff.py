"""Before and after: the one way edits describe what they change.

`users edit`, `packages edit` and their audit entries (and later `apply`'s plan) all say a change
the same way: {field: {"before": old, "after": new}} for the fields that really differ.
"""

from __future__ import annotations

from typing import Any, Mapping

Changes = dict[str, dict[str, Any]]


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """The fields of `after` whose value differs from `before`'s, in `after`'s order."""
    return {key: {"before": before.get(key), "after": value} for key, value in after.items() if before.get(key) != value}


def sides(changes: Changes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) dicts of a diff: what an audit entry records."""
    return {k: c["before"] for k, c in changes.items()}, {k: c["after"] for k, c in changes.items()}
