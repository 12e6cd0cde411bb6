"""The store as an operator reads about it: what `init` did, where the store is, its schema."""

from __future__ import annotations

from mailadmin.render.output import Format, Output, view


def init_summary(report) -> str:
    if report.revision_before is None:
        line = f"created the store at {report.url} (schema {report.revision_after})"
    elif report.revision_before != report.revision_after:
        line = f"upgraded the store from schema {report.revision_before} to {report.revision_after}"
    else:
        line = f"the store at {report.url} is up to date (schema {report.revision_after})"
    if report.builtins_created:
        line += f"; built-in roles: {', '.join(report.builtins_created)}"
    if report.sample:
        line += "; sample: " + ", ".join(f"{n} {what}" for what, n in report.sample.items())
    return line


def upgraded(before: str | None, after: str) -> str:
    return f"schema {after} (was {before or 'empty'})" if before != after else f"schema {after}: already up to date"


STORE_STATUS = view("store_status", "url", "backend", "revision", "head", "up_to_date")


def store_status(out: Output, info, fmt: Format) -> None:
    out.record(STORE_STATUS(url=info.url, backend=info.backend, revision=info.revision, head=info.head,
                            up_to_date=info.up_to_date), fmt)
