"""The permission catalog as data: its shape, and the set algebra roles rely on."""

from __future__ import annotations

import pytest

from mailadmin.catalog import Catalog, Node, catalog
from mailadmin.errors import InvalidInput


def test_every_change_level_implies_its_areas_view():
    cat = catalog()
    for key in cat.leaves:
        area, _, level = key.partition(".")
        if level.split(".")[0] in {"edit", "import", "export", "send"} and f"{area}.view" in cat.nodes:
            assert f"{area}.view" in cat.nodes[key].implies, key


def test_areas_of_the_spec_are_all_there():
    assert catalog().areas == ["campaigns", "sms", "contacts", "templates", "workflows", "ads", "landing_pages", "chat",
                               "api_keys", "smtp", "domains", "senders", "team", "billing", "account"]


def test_senders_manage_requires_an_edit_level():
    cat = catalog()
    assert cat.nodes["senders.manage"].requires_any == ("campaigns.edit", "sms.edit", "templates.edit")
    assert cat.unmet_requirement("senders.manage", {"senders.manage"})
    assert cat.unmet_requirement("senders.manage", {"senders.manage", "sms.edit"}) is None


@pytest.mark.parametrize(
    ("grants", "leaves"),
    [
        (["smtp.pricing"], {"smtp.pricing.view", "smtp.pricing.request"}),
        (["campaigns.edit"], {"campaigns.edit"}),
        (["account"], {"account.rename", "account.delete", "account.transfer"}),
    ],
)
def test_expand(grants, leaves):
    assert catalog().expand(grants) == leaves


def test_compress_is_the_inverse_of_expand():
    cat = catalog()
    every = set(cat.leaves)
    assert cat.compress(every) == cat.areas
    assert cat.expand(cat.compress(every - {"smtp.pricing.request"})) == every - {"smtp.pricing.request"}
    assert "smtp.dashboard" in cat.compress(every - {"smtp.pricing.request"})


def test_implied_closure_follows_chains():
    assert catalog().with_implied({"smtp.pricing.request"}) == {"smtp.pricing.request", "smtp.pricing.view"}


@pytest.mark.parametrize(("typo", "suggestion"), [("contacts.imprt", "contacts.import"), ("biling.view", "billing.view")])
def test_unknown_keys_suggest_the_closest(typo, suggestion):
    with pytest.raises(InvalidInput) as info:
        catalog().check(typo)
    assert suggestion in info.value.hint


def test_a_malformed_catalog_is_refused():
    with pytest.raises(ValueError):
        Catalog([Node("a.b", "child before parent")])
    with pytest.raises(ValueError):
        Catalog([Node("a", "x", implies=("nope",))])
