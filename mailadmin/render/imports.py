"""`users import` as people and scripts read it: a one-line summary on stderr, or the JSON report.

JSON (stable): {"dry_run", "counts": {created, updated, unchanged, skipped}, "created": [...],
"updated": [...], "unchanged": [...], "skipped": [...]}; each item names the CSV line, the email and
the user's id (null for an account a dry run would create); an updated item lists the fields it changed.
"""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Format, Output, counted, view

IMPORT_REPORT = view("import_report", "dry_run", "counts", "created", "updated", "unchanged", "skipped")
IMPORT_COUNTS = view("import_counts", "created", "updated", "unchanged", "skipped")
IMPORT_ITEM = view("import_item", "line", "email", "id")
IMPORT_UPDATE = view("import_update", "line", "email", "id", "changed")


def _items(items) -> list[dict[str, Any]]:
    return [IMPORT_ITEM(line=i.line, email=i.email, id=i.id) for i in items]


def report_json(report) -> dict[str, Any]:
    return IMPORT_REPORT(
        dry_run=report.dry_run,
        counts=IMPORT_COUNTS(created=len(report.created), updated=len(report.updated), unchanged=len(report.unchanged),
                             skipped=len(report.skipped)),
        created=_items(report.created),
        updated=[IMPORT_UPDATE(line=i.line, email=i.email, id=i.id, changed=list(i.changed)) for i in report.updated],
        unchanged=_items(report.unchanged),
        skipped=_items(report.skipped),
    )


def summary(report) -> str:
    """`created 3 accounts; updated 1 account; 2 skipped (already exist)`; a dry run says what it would do."""
    parts = []
    if report.created or not (report.updated or report.unchanged or report.skipped):
        parts.append(f"{'would create' if report.dry_run else 'created'} {counted(len(report.created), 'account')}")
    if report.updated:
        parts.append(f"{'would update' if report.dry_run else 'updated'} {counted(len(report.updated), 'account')}")
    if report.unchanged:
        parts.append(f"{len(report.unchanged)} unchanged (already as the file says)")
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (already exist)")
    line = "; ".join(parts)
    return f"dry run: {line}; nothing changed" if report.dry_run else line


def imported(out: Output, report, fmt: Format) -> None:
    if fmt is Format.json:
        out.json(report_json(report))
    out.message(summary(report))
