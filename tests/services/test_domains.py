"""Domain names (IDNA-normalised and validated, one table), and the domains service: one query
for a list whatever its length, the one lookup, what a removed person's old grant shows."""

from __future__ import annotations

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.refs import domain_name, parse_ref

# (what is typed, the stored A-label form, the Unicode form) or (what is typed, None, the error)
NAMES = [
    # good: the store keeps one spelling of each name
    ("example.com", "example.com", "example.com"),
    ("Mail.EXAMPLE.com", "mail.example.com", "mail.example.com"),  # upper case
    ("example.com.", "example.com", "example.com"),  # the root's trailing dot
    ("  example.com\t", "example.com", "example.com"),  # spaces around it are forgiven
    ("bücher.example", "xn--bcher-kva.example", "bücher.example"),  # Unicode -> A-labels
    ("BÜCHER.Example", "xn--bcher-kva.example", "bücher.example"),  # UTS-46 maps case first
    ("xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"),  # already an A-label
    ("XN--BCHER-KVA.example", "xn--bcher-kva.example", "bücher.example"),
    ("faß.de", "xn--fa-hia.de", "faß.de"),  # non-transitional: ß stays ß (IDNA 2008)
    ("ＥＸＡＭＰＬＥ。com", "example.com", "example.com"),  # full-width letters and dot
    ("münchen.xn--p1ai", "xn--mnchen-3ya.xn--p1ai", "münchen.рф"),
    ("ab--cd.example", "ab--cd.example", "ab--cd.example"),  # plain LDH: DNS allows it below a registry
    ("a.b", "a.b", "a.b"),
    ("a1.example2", "a1.example2", "a1.example2"),  # a top-level label may hold digits, not only digits
    ("a" * 63 + ".example", "a" * 63 + ".example", "a" * 63 + ".example"),
    (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61, None),  # 253 octets
    # bad: one line saying what is wrong
    ("192.0.2.1", None, "is an IP address"),
    ("192.0.2.1.", None, "is an IP address"),
    ("[192.0.2.1]", None, "is an IP address"),
    ("[IPv6:2001:db8::1]", None, "is an IP address"),
    ("2001:db8::1", None, "is an IP address"),
    ("localhost", None, "needs at least two labels"),
    ("a" * 64 + ".example", None, "is 64 octets long; at most 63"),
    (".".join(["a" * 63] * 3) + "." + "b" * 62, None, "is 254 octets long; at most 253"),
    ("-mail.example", None, "label '-mail' starts or ends with a hyphen"),
    ("mail-.example", None, "label 'mail-' starts or ends with a hyphen"),
    ("ü-.example", None, "cannot be an internationalised label"),
    ("mail_1.example", None, "label 'mail_1' holds '_'"),
    ("exa mple.com", None, "holds a space"),
    ("example.com\u3000x", None, "holds a space"),
    ("", None, "a domain name must not be empty"),
    ("   ", None, "a domain name must not be empty"),
    ("a..b", None, "empty label"),
    (".example.com", None, "empty label"),
    ("example.com..", None, "empty label"),
    ("example.com\n", None, "control character"),
    ("exam\x00ple.com", None, "control character"),
    ("example.com/", None, "label 'com/' holds '/'"),
    ("example.com:25", None, "holds ':'"),
    ("user@example.com", None, "holds '@'"),
    ("example.123", None, "its last label '123' is all digits"),
    ("xn--zz.example", None, "label 'xn--zz' is not a valid IDNA A-label"),
    ("xn--ls8h.example", None, "is not a valid IDNA A-label"),  # an emoji: not in IDNA 2008
    ("☃.example", None, "cannot be an internationalised label"),
    ("x" * 5000, None, "is not a domain name"),
]


def _name_id(row) -> str:
    return row[0].encode("unicode_escape").decode("ascii")[:40] or "(empty)"


@pytest.mark.parametrize(("typed", "ascii_", "expected"), NAMES, ids=[_name_id(r) for r in NAMES])
def test_domain_names_are_normalised_or_refused_saying_why(typed, ascii_, expected):
    if ascii_ is not None:
        name = domain_name(typed)
        assert name.ascii == ascii_
        assert name.unicode == (expected if expected is not None else ascii_)
        assert domain_name(name.ascii) == name == domain_name(name.unicode)  # stable: every form finds it
        return
    with pytest.raises(InvalidInput) as caught:
        domain_name(typed)
    message = caught.value.message
    assert expected in message and "\n" not in message and len(message) < 300


def test_a_refused_name_is_named_in_its_message():
    with pytest.raises(InvalidInput) as caught:
        domain_name("mail_1.example")
    assert caught.value.message == "'mail_1.example' is not a domain name: label 'mail_1' holds '_'; labels hold letters, digits and hyphens"


# -- the service ---------------------------------------------------------------------------------
@pytest.fixture
def owner(op):
    from mailadmin.services import users
    from tests.factories import make_package

    with op.write() as o:
        make_package(o.session, "pro", role="admin")
        users.create(o, "owner@a.example", "pro")
    return parse_ref("owner@a.example")


def test_a_list_is_one_query_whatever_its_length(op, store, owner):
    from sqlalchemy import event, select

    from mailadmin.services import domains
    from mailadmin.store.models import User

    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    def count(**kw) -> int:
        statements.clear()
        event.listen(store.engine, "before_cursor_execute", note)
        try:
            with op.read() as o:
                rows = domains.list_domains(o, **kw)
        finally:
            event.remove(store.engine, "before_cursor_execute", note)
        assert rows
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    with op.write() as o:
        domains.add(o, "one.example", owner)
        account = o.session.execute(select(User.account_id).where(User.email == "owner@a.example")).scalar_one()
        o.session.add(User(email="m@a.example", account_id=account, created_at=o.now))
        o.session.flush()
        domains.grant(o, "one.example", parse_ref("m@a.example"), "viewer")
    few = count()
    from mailadmin.services.dnsrecords import record_ids
    from mailadmin.store.models import DnsCheck

    with op.write() as o:
        for i in range(40):
            detail = domains.add(o, f"d{i}.example", owner, algorithm="ed25519")
            domains.grant(o, f"d{i}.example", parse_ref("m@a.example"), "admin")
            # the verification is an aggregate joined in, not a query per domain; a retired
            # selector's verified check does not count
            for record in [*record_ids(k.selector for k in detail.dkim_keys), "dkim:retired"]:
                if i == 2 and record == "tracking":
                    continue  # never checked: d2 stays pending, whatever the retired check says
                o.session.add(DnsCheck(domain_id=detail.id, record=record, name=f"{record}.d{i}.example", type="TXT",
                                       state="failed" if i % 3 == 0 and record == "spf" else "verified", expected="x",
                                       checked_at=o.now))
    assert count() == few == 1
    assert count(search="d1", limit=5, offset=1) == 1
    with op.read() as o:
        states = {r.name: r.verification for r in domains.list_domains(o)}
    assert [states[d] for d in ("one.example", "d0.example", "d1.example", "d2.example")] == ["pending", "failed", "verified", "pending"]


@pytest.mark.parametrize(("total", "verified", "failed", "state"), [
    (0, 0, 0, "pending"), (3, 3, 0, "verified"), (3, 2, 0, "pending"), (3, 2, 1, "failed"), (3, 0, 3, "failed")])
def test_the_overall_verification_of_a_domain(total, verified, failed, state):
    from mailadmin.services.domains import overall_state

    assert overall_state(total, verified, failed) == state


def test_settings_change_only_what_is_given_and_refuse_what_is_not_a_setting(op, owner):
    from mailadmin.errors import InvalidInput
    from mailadmin.services import domains

    with op.write() as o:
        domains.add(o, "one.example", owner, algorithm="ed25519")
        change = domains.set_settings(o, "one.example", {"monthly_cap": 10, "open_tracking": True})
        assert change.changed == {"monthly_cap": ("unlimited", 10)} and change.unchanged == {"open_tracking": True}
        assert change.detail.monthly_cap == 10
        for bad in ({}, {"colour": True}, {"monthly_cap": -1}, {"monthly_cap": True}, {"monthly_cap": "5"}):
            with pytest.raises(InvalidInput):
                domains.set_settings(o, "one.example", bad)


def test_a_removed_persons_old_grant_is_not_shown_or_counted(op, owner):
    from sqlalchemy import select, update

    from mailadmin.services import domains
    from mailadmin.store.models import DomainGrant, User

    with op.write() as o:
        domains.add(o, "one.example", owner)
        account = o.session.execute(select(User.account_id).where(User.email == "owner@a.example")).scalar_one()
        o.session.add(User(email="m@a.example", account_id=account, created_at=o.now))
        o.session.flush()
        domains.grant(o, "one.example", parse_ref("m@a.example"), "admin", email_content=True)
        assert [g.member for g in domains.show(o, "ONE.example").grants] == ["m@a.example"]
        # removed from the team (seed 001: they stay in the system), the grant row left behind
        o.session.execute(update(User).where(User.email == "m@a.example").values(account_id=None, role_id=None))
        assert o.session.execute(select(DomainGrant)).scalars().all()
        assert domains.show(o, "one.example").grants == []
        assert domains.list_domains(o)[0].members == 0


def test_add_records_the_unicode_form_in_the_audit_log(op, owner):
    from mailadmin.services import audit, domains

    with op.write() as o:
        detail = domains.add(o, "bücher.example", owner)
    assert (detail.name, detail.unicode, detail.owner) == ("xn--bcher-kva.example", "bücher.example", "owner@a.example")
    with op.read() as o:
        entry = audit.entries(o, target="domain:xn--bcher-kva.example")[0]
    assert entry.action == "domain.add" and entry.actor == "tester"
    assert entry.after == {"account": "owner@a.example", "account_id": detail.account_id, "unicode": "bücher.example",
                           "dkim": {"selector": detail.dkim_keys[0].selector, "algorithm": "rsa"}}
