"""Set-based work in chunks, and how a long run reports its progress to whoever shows it."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

# Rows per `IN (...)` list or executemany batch: far below PostgreSQL's 65535 bind parameters.
CHUNK = 5000

# (phase, done so far, total or None when not known yet); the CLI draws it, services only call it
Progress = Callable[[str, int, "int | None"], None]


def no_progress(_phase: str, _done: int, _total: int | None) -> None:
    return None


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
