"""`mailadmin config`: a TOML file in the user config directory, validated on write and read."""

from __future__ import annotations

import tomllib

import pytest

from tests.helpers import one_line_error


def test_path_honours_mailadmin_config_and_xdg(cli, cli_env, monkeypatch, tmp_path):
    assert cli("config", "path").stdout.strip() == cli_env["MAILADMIN_CONFIG"]
    monkeypatch.delenv("MAILADMIN_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cli("config", "path").stdout.strip() == str(tmp_path / "xdg" / "mailadmin" / "config.toml")


def test_set_writes_toml_and_show_reports_the_source(cli, cli_env):
    assert cli("config", "set", "platform.spf_include", "SPF.Example.NET.").exit_code == 0
    with open(cli_env["MAILADMIN_CONFIG"], "rb") as fh:
        assert tomllib.load(fh) == {"platform": {"spf_include": "spf.example.net"}}
    rows = {r["key"]: r for r in _csv_rows(cli("config", "show", "-o", "csv").stdout)}
    assert rows["platform.spf_include"]["source"] == "file"
    assert rows["platform.tracking_host"]["source"] == "default"
    assert cli("config", "show", "-o", "json").json()["platform.spf_include"] == "spf.example.net"


def _csv_rows(text):
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_default_output_comes_from_config(cli):
    cli("config", "set", "output", "json")
    assert isinstance(cli("roles", "list").json(), list)
    assert cli("roles", "list", "-o", "ids").stdout.split()[0] in {"admin", "owner"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["config", "set", "platform.spf_inclde", "x.example"], "did you mean platform.spf_include"),
        (["config", "set", "output", "yaml"], "output must be one of"),
        (["config", "set", "platform.tracking_host", "not a host"], "is not a host name"),
        (["config", "set", "database", "  "], "must not be empty"),
    ],
)
def test_bad_settings_are_refused_and_nothing_written(cli, cli_env, args, needle):
    import os

    r = cli(*args)
    assert r.exit_code == 2
    assert needle in one_line_error(r)
    assert not os.path.exists(cli_env["MAILADMIN_CONFIG"])


@pytest.mark.parametrize(("content", "needle"), [("output = [", "cannot be read"), ("colour = 1", "unknown key 'colour'")])
def test_a_broken_config_file_is_78(cli, cli_env, content, needle):
    with open(cli_env["MAILADMIN_CONFIG"], "w") as fh:
        fh.write(content)
    r = cli("roles", "list")
    assert r.exit_code == 78
    assert needle in one_line_error(r)


def test_database_setting_selects_the_store(cli, monkeypatch, db_url, tmp_path):
    """Only the store the config names holds `only-here`; the default store is never touched."""
    assert cli("roles", "create", "only-here").exit_code == 0
    monkeypatch.delenv("MAILADMIN_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    cli("config", "set", "database", db_url)
    assert cli("roles", "show", "only-here").exit_code == 0
    assert not (tmp_path / "data" / "mailadmin").exists()


# -- the platform's DNS settings (issue 10) -------------------------------------------------------
def test_platform_host_names_have_no_default(cli):
    """A default would print DNS records pointing customers at someone else's platform."""
    shown = cli("config", "show", "-o", "json").json()
    for key in ("platform.spf_include", "platform.return_path_host", "platform.tracking_host", "platform.dmarc_rua",
                "platform.resolver"):
        assert shown[key] is None, key
    assert (shown["platform.dmarc_policy"], shown["platform.return_path_label"], shown["platform.tracking_label"]) == (
        "none", "bounces", "track")


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("platform.dmarc_policy", "Reject", "reject"),
        ("platform.dmarc_rua", "mailto:Reports@DMARC.Example.NET", "Reports@dmarc.example.net"),
        ("platform.dmarc_rua", "dmarc@example.net", "dmarc@example.net"),
        ("platform.resolver", "192.0.2.53", "192.0.2.53"),
        ("platform.resolver", "192.0.2.53:5353", "192.0.2.53:5353"),
        ("platform.resolver", "[2001:db8::53]:53", "2001:db8::53"),
        ("platform.resolver", "[2001:db8::53]:5353", "[2001:db8::53]:5353"),
        ("platform.return_path_label", "Bounce.Mail", "bounce.mail"),
        ("platform.tracking_label", "links", "links"),
    ],
)
def test_dns_settings_are_normalised(cli, cli_env, key, value, stored):
    assert cli("config", "set", key, value).exit_code == 0
    assert cli("config", "show", "-o", "json").json()[key] == stored


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("platform.dmarc_policy", "monitor", "a DMARC policy is one of none, quarantine, reject"),
        ("platform.dmarc_rua", "not-an-address", "is not a mailbox like dmarc@example.net"),
        ("platform.dmarc_rua", "a b@example.net", "is not a mailbox"),
        ("platform.dmarc_rua", "dmarc@-bad.example", "is not a mailbox"),
        ("platform.resolver", "dns.example.net", "is not a DNS server address"),
        ("platform.resolver", "192.0.2.53:0", "has a bad port"),
        ("platform.return_path_label", "bounces-", "is not a DNS label"),
        ("platform.tracking_label", "a_b", "is not a DNS label"),
    ],
)
def test_bad_dns_settings_are_refused(cli, cli_env, key, value, needle):
    import os

    r = cli("config", "set", key, value)
    assert r.exit_code == 2
    assert needle in one_line_error(r)
    assert not os.path.exists(cli_env["MAILADMIN_CONFIG"])
