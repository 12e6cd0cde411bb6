"""Parsing of user references: emails are validated and normalised, #ID is an id (mailadmin/refs.py)."""

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.refs import normalise_email, parse_ref


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Alice@Example.COM", "alice@example.com"), ("  bob@example.org ", "bob@example.org"), ("#42", 42),
     ("x@bücher.example", "x@xn--bcher-kva.example")],
)
def test_parse_ref(raw, expected):
    ref = parse_ref(raw)  # a UserRef: what it names is its id or its email
    assert (ref.id if ref.id is not None else ref.email) == expected


@pytest.mark.parametrize("raw", ["#", "#12a", "nobody", "a@", "@example.com", "a b@example.com", ""])
def test_bad_refs_are_invalid_input(raw):
    with pytest.raises(InvalidInput):
        parse_ref(raw)


def test_normalise_email_rejects_garbage():
    with pytest.raises(InvalidInput):
        normalise_email("not-an-email")
