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


def test_the_question_names_the_email_or_the_count_and_what_is_left_alone():
    one = lifecycle.BulkReport("suspend", dry_run=True, changed=["a@example.com"])
    assert render.bulk_question(one) == "suspend a@example.com?"
    many = lifecycle.BulkReport("delete", dry_run=True, changed=[f"u{i}" for i in range(40)])
    assert render.bulk_question(many) == "delete 40 users?"
    mixed = lifecycle.BulkReport("close", dry_run=True, changed=["a", "b"], unchanged=["c"],
                                 failed=[lifecycle.Failed("ghost", lifecycle.MISSING)])
    assert render.bulk_question(mixed) == "close 2 users (1 unchanged, 1 failed)?"


@pytest.mark.parametrize("text", ["a\nb", "a\u2028b", "a\x00b", "x" * 1001, " "])
def test_a_reason_is_one_line_of_text(text):
    with pytest.raises(InvalidInput):
        lifecycle.make_request("close", now=utcnow(), reason=text)


def test_a_dry_run_reports_progress_as_checking_not_as_done(op):
    from mailadmin.refs import parse_ref
    from mailadmin.services import users
    from tests.factories import make_package

    with op.write() as o:
        make_package(o.session, "p")
        users.create(o, "a@example.com", "p")
    seen = []
    with op.read() as o:
        req = lifecycle.make_request("close", now=o.now, reason="x")
        report = lifecycle.run(o, req, [parse_ref("a@example.com")], dry_run=True,
                               progress=lambda phase, done, total: seen.append(phase))
    assert report.changed == ["a@example.com"] and "checked" in seen and "closed" not in seen
