"""Assertions shared by the tests."""

from __future__ import annotations


def one_line_error(result: Result) -> str:
    """Assert the documented error shape: exactly one line on stderr, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got: {result.stderr!r}"
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]
