"""Lifecycle requests and reports (the runs are tested through the CLI and in test_lifecycle_rules.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.render import users as render
from mailadmin.services import lifecycle
from mailadmin.timeutil import utcnow


def test_suspend_request_defaults_to_manual_and_checks_until():
    now = utcnow()
    assert lifecycle.make_request("suspend", now=now, reason="x").code == "manual"
    with pytest.raises(InvalidInput):
        lifecycle.make_request("suspend", now=now, reason="x", until=now - timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        lifecycle.make_request("close", now=now)


def test_preview_truncates_with_a_count():
    assert render.preview([f"u{i}" for i in range(7)], shown=3) == "u0, u1, u2 (and 4 more)"
    assert render.preview(["a"]) == "a"


def test_summary_names_a_single_user_and_counts_otherwise():
    one = lifecycle.BulkReport("close", changed=["a@example.com"])
    assert render.bulk_summary(one) == "closed a@example.com"
    many = lifecycle.BulkReport("suspend", dry_run=True, changed=["a", "b"], unchanged=["c"], unchanged_why={"closed": 1})
    assert render.bulk_summary(many) == "dry run: would suspend 2 users; 1 unchanged (1 closed); nothing changed"
    assert render.bulk_json(many) == {"changed": ["a", "b"], "unchanged": ["c"], "failed": []}
