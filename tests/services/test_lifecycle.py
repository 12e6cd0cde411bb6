"""Lifecycle requests and reports (the runs themselves are tested through the CLI)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.services import lifecycle
from mailadmin.timeutil import utcnow


def test_suspend_request_defaults_to_manual_and_checks_until():
    assert lifecycle.make_request("suspend", reason="x").code == "manual"
    with pytest.raises(InvalidInput):
        lifecycle.make_request("suspend", reason="x", until=utcnow() - timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        lifecycle.make_request("close")


def test_preview_truncates_with_a_count():
    assert lifecycle.preview([f"u{i}" for i in range(7)], shown=3) == "u0, u1, u2 (and 4 more)"
    assert lifecycle.preview(["a"]) == "a"


def test_summary_names_a_single_user_and_counts_otherwise():
    one = lifecycle.BulkReport("close", changed=["a@example.com"])
    assert one.summary() == "closed a@example.com"
    many = lifecycle.BulkReport("suspend", dry_run=True, changed=["a", "b"], unchanged=["c"], unchanged_why={"closed": 1})
    assert many.summary() == "dry run: would suspend 2 users; 1 unchanged (1 closed); nothing changed"
    assert many.as_json() == {"changed": ["a", "b"], "unchanged": ["c"], "failed": []}
