"""Batch mode's output: one JSON object a line on stdout, one per command run (JSON Lines), and
with --atomic a last line saying whether the whole was committed."""

from __future__ import annotations

import json
from typing import Any, TextIO

from mailadmin.render.output import view

# one per command: its line number in the file, the line as written, its exit code, what it printed
# on stdout (parsed when it is JSON, else the text, null when nothing) and its stderr (null when
# empty); `error` holds stderr only when the line failed, `message` what a line that succeeded said
BATCH_LINE = view("batch_line", "line", "command", "exit", "output", "error", "message")
# --atomic: the last line, whether every line's change was committed or all were rolled back
BATCH_ATOMIC = view("batch_atomic", "atomic", "committed", "rolled_back", "lines_run", "failed_line")


def captured_output(text: str) -> Any:
    """What a line printed on stdout: its JSON when it printed JSON, else its text; None when nothing."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text[:-1] if text.endswith("\n") else text


def line_result(number: int, command: str, code: int, stdout: str, stderr: str) -> dict[str, Any]:
    said = stderr.strip() or None
    return BATCH_LINE(line=number, command=command, exit=code, output=captured_output(stdout),
                      error=said if code else None, message=None if code else said)


def emit(stream: TextIO, record: dict[str, Any]) -> None:
    """One JSON object on one line (ensure_ascii off: names stay readable)."""
    stream.write(json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n")
