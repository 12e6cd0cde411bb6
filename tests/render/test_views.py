"""Every JSON view is an API: each declared view is printed by a real command, and what scripts
get has exactly the declared fields (issue 7). A new view without a row here fails the last test."""

from __future__ import annotations

import getpass
import importlib
import io
import json
import pkgutil

import pytest

from mailadmin import render
from mailadmin.render.output import View

A = "alice@example.com"
RUNNER = getpass.getuser()  # the OS user the commands below run as (their env names none)


def _first(data):
    return data[0] if isinstance(data, list) else data


# view name -> (commands run first, the command printing it as JSON, where the object is in its output)
CASES = {
    "role": ([], ["roles", "show", "viewer", "-o", "json"], lambda d: d),
    "role_row": ([], ["roles", "list", "-o", "json"], _first),
    "matrix_row": ([], ["roles", "matrix", "-o", "json"], _first),
    "permission": ([], ["roles", "permissions", "-o", "json"], _first),
    "package": ([], ["packages", "show", "business", "-o", "json"], lambda d: d),
    "package_edit": ([], ["packages", "edit", "starter", "--limit", "daily=9", "--dry-run", "-o", "json"], lambda d: d),
    "package_edit_account": ([], ["packages", "edit", "starter", "--limit", "daily=9", "--dry-run", "-o", "json"],
                             lambda d: d["accounts"][0]),
    "package_asset": ([], ["packages", "assets", "starter", "-o", "json"], _first),
    "user_row": ([], ["users", "list", "-n", "1", "-o", "json"], _first),
    "user": ([], ["users", "show", A, "-o", "json"], lambda d: d),
    "suspension": ([["users", "suspend", "bob@example.com", "--reason", "r", "--yes"]],
                   ["users", "show", "bob@example.com", "-o", "json"], lambda d: d["suspensions"][0]),
    "limit": ([], ["users", "show", A, "-o", "json"], lambda d: d["limits"]["daily"]),
    "limit_row": ([], ["users", "limits", A, "-o", "csv"], None),  # csv: the header is the shape
    "user_limits": ([], ["users", "limits", A, "-o", "json"], lambda d: d),
    "ip_allowed": ([], ["users", "allow-ip", A, "192.0.2.1", "-o", "json"], lambda d: d),
    "ip_denied": ([], ["users", "deny-ip", A, "192.0.2.9", "-o", "json"], lambda d: d),
    "bulk_report": ([], ["users", "suspend", "carol@example.com", "--reason", "r", "--dry-run", "-o", "json"], lambda d: d),
    "bulk_failure": ([], ["users", "close", "-", "--reason", "r", "--skip-missing", "--dry-run", "-o", "json",
                          "<", "nobody@example.com\ncarol@example.com\n"], lambda d: d["failed"][0]),
    "credit_entry": ([["credits", "add", A, "1", "--reason", "r"]], ["credits", "history", A, "-o", "json"], _first),
    "credit_balance": ([], ["credits", "balance", A, "-o", "json"], lambda d: d),
    "credit_applied": ([], ["credits", "add", A, "1", "--reason", "shape", "-o", "json"], lambda d: d),
    "credit_account": ([], ["credits", "list", "--all", "-o", "json"], _first),
    "credit_verify": ([], ["credits", "verify", "-o", "json"], lambda d: d),
    "bulk_credit": ([], ["credits", "add", "--package", "business", "1", "--reason", "r", "--key", "shape", "-o", "json"],
                    lambda d: d["changed"][0]),
    "bulk_credit_line": ([], ["credits", "add", "--from-file", "-", "-o", "json",
                              "<", "user,amount,reason,key\nalice@example.com,1,r,line-shape\n"], lambda d: d["changed"][0]),
    "bulk_credit_applied": ([["credits", "add", "--package", "business", "1", "--reason", "r", "--key", "again"]],
                            ["credits", "add", "--package", "business", "1", "--reason", "r", "--key", "again", "-o", "json"],
                            lambda d: d["unchanged"][0]),
    "bulk_credit_applied_line": ([["credits", "add", "--from-file", "examples/topups.csv"]],
                                 ["credits", "add", "--from-file", "examples/topups.csv", "-o", "json"], lambda d: d["unchanged"][0]),
    "user_member": ([["users", "invite", A, "member-shape@example.com", "--role", "viewer"]],
                    ["users", "show", A, "-o", "json"], lambda d: d["members"][0]),
    "user_domain_grant": ([["users", "invite", A, "grant-shape@example.com", "--role", "viewer"],
                           ["domains", "add", "grant-shape.example", "--user", A],
                           ["domains", "grant", "grant-shape.example", "grant-shape@example.com", "--role", "viewer"]],
                          ["users", "show", "grant-shape@example.com", "-o", "json"], lambda d: d["domain_grants"][0]),
    "can": ([], ["users", "can", A, "campaigns.edit", "-o", "json"], lambda d: d),
    "can_explained": ([], ["users", "can", A, "campaigns.edit", "--explain", "-o", "json"], lambda d: d),
    "can_step": ([], ["users", "can", A, "campaigns.edit", "--explain", "-o", "json"], lambda d: d["steps"][0]),
    "can_list": ([], ["users", "can", A, "--list", "-o", "json"], lambda d: d),
    "access_cell": ([], ["users", "access", A, "-o", "json"], _first),
    "impact_report": ([], ["roles", "revoke", "regular", "campaigns.send", "--dry-run", "-o", "json"], lambda d: d),
    "impact": ([], ["roles", "revoke", "regular", "campaigns.send", "--dry-run", "-o", "json"], lambda d: d["people"][0]),
    "audit_entry": ([], ["audit", "list", "-n", "1", "-o", "json"], _first),
    "audit_verify": ([], ["audit", "verify", "-o", "json"], lambda d: d),
    "audit_head": ([], ["audit", "head", "-o", "json"], lambda d: d),
    "setting": ([], ["config", "show", "-o", "csv"], None),
    "store_status": ([], ["db", "status", "-o", "json"], lambda d: d),
    "domain": ([["domains", "add", "view-domain.example", "--user", A]], ["domains", "show", "view-domain.example", "-o", "json"],
               lambda d: d),
    "domain_row": ([["domains", "add", "view-row.example", "--user", A]], ["domains", "list", "-n", "1", "-o", "json"], _first),
    "domain_grant": ([["users", "invite", A, "view-grant@example.com", "--role", "regular"],
                      ["domains", "add", "view-grant.example", "--user", A],
                      ["domains", "grant", "view-grant.example", "view-grant@example.com", "--role", "viewer"]],
                     ["domains", "show", "view-grant.example", "-o", "json"], lambda d: d["grants"][0]),
    "grant_change": ([["users", "invite", A, "view-change@example.com", "--role", "regular"],
                      ["domains", "add", "view-change.example", "--user", A]],
                     ["domains", "grant", "view-change.example", "view-change@example.com", "--role", "admin", "-o", "json"],
                     lambda d: d),
    "domain_key": ([["domains", "add", "view-key.example", "--user", A]],
                   ["domains", "show", "view-key.example", "-o", "json"], lambda d: d["dkim_keys"][0]),
    "domain_verification": ([["domains", "add", "view-verification.example", "--user", A]],
                            ["domains", "show", "view-verification.example", "-o", "json"], lambda d: d["verification"]),
    "domain_credentials": ([["domains", "add", "view-credentials.example", "--user", A],
                            ["domains", "credentials", "view-credentials.example", "--reset"]],
                           ["domains", "credentials", "view-credentials.example", "-o", "json"], lambda d: d),
    "smtp_secret": ([["domains", "add", "view-secret.example", "--user", A]],
                    ["domains", "credentials", "view-secret.example", "--reset", "-o", "json"], lambda d: d),
    "dkim_rotation": ([["domains", "add", "view-rotation.example", "--user", A]],
                      ["domains", "rotate-dkim", "view-rotation.example", "-o", "json"], lambda d: d),
    "dkim_key": ([["domains", "add", "view-pending.example", "--user", A]],
                 ["domains", "rotate-dkim", "view-pending.example", "-o", "json"], lambda d: d["pending"]),
    "usage_record": ([], ["users", "record", A, "--sent", "1", "--dry-run", "-o", "json"], lambda d: d),
    "usage_window": ([], ["users", "record", A, "--sent", "1", "--dry-run", "-o", "json"], lambda d: d["windows"]["daily"]),
    "usage_domain": ([["domains", "add", "view-usage.example", "--user", A, "--algorithm", "ed25519"]],
                     ["users", "record", A, "--sent", "1", "--domain", "view-usage.example", "--dry-run", "-o", "json"],
                     lambda d: d["domain"]),
    "usage_overuse": ([["packages", "create", "view-overuse", "--role", "regular", "--limit", "hourly=0", "--credits",
                        "--credit-cost", "0.01", "--allow-overuse"],
                       ["users", "create", "view-overuse@example.com", "--package", "view-overuse"],
                       ["credits", "add", "view-overuse@example.com", "1", "--reason", "r"]],
                      ["users", "record", "view-overuse@example.com", "--sent", "1", "-o", "json"], lambda d: d["overuse"]),
    "usage_suspension": ([["packages", "create", "view-bounces", "--role", "regular", "--bounce-limit", "1",
                           "--bounce-min-sends", "1"],
                          ["users", "create", "view-bounces@example.com", "--package", "view-bounces"]],
                         ["users", "record", "view-bounces@example.com", "--sent", "1", "--bounced", "1", "--dry-run", "-o", "json"],
                         lambda d: d["suspended"]),
    "usage": ([], ["users", "usage", A, "-o", "json"], lambda d: d),
    "usage_limit": ([], ["users", "usage", A, "-o", "json"], lambda d: d["limits"]["daily"]),
    "usage_limit_row": ([], ["users", "usage", A, "-o", "csv"], None),
    "usage_bounces": ([], ["users", "usage", A, "-o", "json"], lambda d: d["bounces"]["day"]),
    "usage_over": ([["users", "limits", A, "--set", "contacts=10"], ["users", "usage", A, "--set", "contacts=5"]],
                   ["users", "usage", "--over", "0", "-o", "json"], _first),
    "apply_plan": ([["export", "--only", "packages", "{dir}/plan.toml"], ["packages", "edit", "starter", "--limit", "daily=9"]],
                   ["apply", "{dir}/plan.toml", "--dry-run", "-o", "json"], lambda d: d),
    "apply_step": ([["export", "--only", "packages", "{dir}/step.toml"], ["packages", "edit", "starter", "--limit", "daily=10"]],
                   ["apply", "{dir}/step.toml", "--dry-run", "-o", "json"], lambda d: d["steps"][0]),
    "apply_change": ([["export", "--only", "packages", "{dir}/change.toml"], ["packages", "edit", "starter", "--limit", "daily=11"]],
                     ["apply", "{dir}/change.toml", "--dry-run", "-o", "json"], lambda d: d["steps"][0]["changes"]["limits.daily"]),
    "import_report": ([], ["users", "import", "-", "--dry-run", "-o", "json", "<", "email,name,package\nview-import@example.com,V,starter\n"],
                      lambda d: d),
    "import_counts": ([], ["users", "import", "-", "--dry-run", "-o", "json", "<", "email,name,package\nview-import@example.com,V,starter\n"],
                      lambda d: d["counts"]),
    "import_item": ([], ["users", "import", "-", "--dry-run", "-o", "json", "<", "email,name,package\nview-import@example.com,V,starter\n"],
                    lambda d: d["created"][0]),
    "import_update": ([], ["users", "import", "-", "--update", "--dry-run", "-o", "json", "<",
                           "email,name,package\nalice@example.com,Renamed,business\n"], lambda d: d["updated"][0]),
    "batch_line": ([], ["batch", "<", "roles show viewer -o json\n"], lambda d: d),
    "batch_atomic": ([], ["batch", "--atomic", "<", "# nothing\n"], lambda d: d),
    # registers whoever runs the tests as superadmin: the cases after it still run with full rights
    "operator": ([], ["operators", "add", RUNNER, "--role", "superadmin", "-o", "json"], lambda d: d),
    "operator_role": ([], ["operators", "roles", "show", "support", "-o", "json"], lambda d: d),
    "operator_role_row": ([], ["operators", "roles", "list", "-o", "json"], _first),
    "admin_permission": ([], ["operators", "roles", "permissions", "-o", "json"], _first),
}
# shapes only a failure prints, or that need more than a store: checked where they are made
ELSEWHERE = {
    "audit_problem": "tests/cli/test_audit.py (verify -o json after tampering)",
    "credit_mismatch": "tests/cli/test_credits.py (verify -o json after tampering)",
    "bulk_row_failure": "tests/cli/test_credits_bulk.py (a bad CSV row)",
    "domain_check": "tests/cli/test_domains.py (show -o json after DNS check results are stored)",
    "dns_records": "tests/cli/test_domains_dns.py (needs the platform host names in a config file)",
    "dns_record": "tests/cli/test_domains_dns.py (needs the platform host names in a config file)",
    "dns_verify": "tests/cli/test_domains_verify.py (needs a DNS server)",
    "dns_check": "tests/cli/test_domains_verify.py (needs a DNS server)",
    "dkim_export": "tests/cli/test_domains_export_dkim.py (writes to a directory)",
    "dkim_export_key": "tests/cli/test_domains_export_dkim.py (writes to a directory)",
}


def declared_views() -> dict[str, View]:
    views = {}
    for module in pkgutil.iter_modules(render.__path__):
        for value in vars(importlib.import_module(f"mailadmin.render.{module.name}")).values():
            if isinstance(value, View):
                views[value.name] = value
    return views


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from mailadmin.cli.app import invoke

    path = str(tmp_path_factory.mktemp("views") / "demo.db")
    assert invoke(["--db", path, "init", "--sample"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    return path


def _run(store: str, args: list[str]) -> str:
    """Run one command line; `"<", TEXT` at its end is what it reads on stdin."""
    from mailadmin.cli.app import invoke
    from tests.conftest import BASE_ENV, REPO

    import os

    args = [a.replace("{dir}", os.path.dirname(store)) for a in args]  # files beside the demo store
    stdin = ""
    if "<" in args:
        args, stdin = args[: args.index("<")], args[-1]
    out, err = io.StringIO(), io.StringIO()
    env = {**BASE_ENV, "MAILADMIN_CONFIG": "/nonexistent/config.toml"}
    cwd = os.getcwd()
    os.chdir(REPO)  # examples/ files are named relative to the repository, as in the README
    try:
        code = invoke(["--db", store, *args], stdin=io.StringIO(stdin), stdout=out, stderr=err, env=env)
    finally:
        os.chdir(cwd)
    assert code in (0, 1), err.getvalue()
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_view_prints_exactly_its_declared_fields(demo, name):
    setup, command, where = CASES[name]
    for args in setup:
        _run(demo, args)
    output = _run(demo, command)
    fields = declared_views()[name].fields
    if where is None:
        assert output.splitlines()[0].split(",") == list(fields)
    else:
        assert list(where(json.loads(output))) == list(fields)


def test_every_declared_view_has_a_shape_test():
    assert set(declared_views()) == set(CASES) | set(ELSEWHERE)
