"""Export documents and apply plans as people and scripts read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailadmin.render.output import Format, Output, counted, jsonable, view

APPLY_PLAN = view("apply_plan", "dry_run", "applied", "steps")
APPLY_STEP = view("apply_step", "action", "kind", "name", "account", "changes")
APPLY_CHANGE = view("apply_change", "before", "after")


def _step_json(s) -> dict[str, Any]:
    changes = {f: APPLY_CHANGE(before=jsonable(b), after=jsonable(a)) for f, (b, a) in s.changes.items()}
    return APPLY_STEP(action=s.action, kind=s.kind, name=s.name, account=s.owner, changes=changes)


def shown(value: Any) -> str:
    """A value in a plan line."""
    if value is None:
        return "(none)"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) if not isinstance(v, dict) else "/".join(shown(x) for x in v.values()) for v in value) + "]"
    if isinstance(value, str):
        return repr(value) if value == "" or " " in value else value
    return str(value)


def _line(s) -> list[str]:
    kind = s.kind.replace("_", " ")
    where = f" (team of {s.owner})" if s.owner else ""
    if s.action != "change":
        return [f"{s.action} {kind} {s.name}{where}"]
    return [f"change {kind} {s.name}{where}: {f}: {shown(b)} -> {shown(a)}" for f, (b, a) in s.changes.items()]


def plan(out: Output, p, fmt: Format) -> None:
    """The plan on stdout (one line per created or deleted thing, one per changed field), a summary on stderr."""
    if fmt is Format.json:
        out.json(APPLY_PLAN(dry_run=p.dry_run, applied=p.applied, steps=[_step_json(s) for s in p.steps]))
    else:
        out.lines([line for s in p.steps for line in _line(s)])
    if not p.steps:
        out.message("nothing to change")
    elif p.dry_run:
        out.message(f"dry run: {counted(len(p.steps), 'change')} planned; nothing written")
    else:
        out.message(f"applied {counted(len(p.steps), 'change')}")


def exported(out: Output, text: str, path: str | None, with_secrets: bool) -> None:
    if path is None:
        out.stdout.write(text)
        return
    note = " (holds DKIM private keys: mode 0600)" if with_secrets else ""
    out.message(f"wrote {path}{note}")
