"""Hostile input to `export` and `apply`: every bad file names its line and key (exit 2), bad
options and paths are refused, and nothing is written (audit count and export unchanged)."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

BASE = """version = 1

[roles.support]
description = "Support"
grants = ["contacts.view"]

[packages.gold]
role = "support"
credits = true

[accounts."ann@a.example"]
package = "gold"

[accounts."ann@a.example".members."mem@a.example"]
role = "viewer"
"""

# (id, the file, exit code, what the one error line must say)
BAD_FILES = [
    ("broken-toml", "version = 1\n[roles\n", 2, "line 2"),
    ("not-a-table", "version = 1\nroles = 3\n", 2, "line 2, key roles: must be a table"),
    ("no-version", "[roles.a]\n", 2, "missing key 'version'"),
    ("future-version", "version = 2\n", 2, "line 1, key version: this mailadmin reads format version 1"),
    ("unknown-top-key", "version = 1\ncolour = 'red'\n", 2, "line 2, key colour: unknown key"),
    ("unknown-package-key", BASE.replace("credits = true", "credits = true\ncolour = 1"), 2,
     "line 10, key packages.gold.colour: unknown key"),
    ("wrong-type", BASE.replace("credits = true", 'credits = "yes"'), 2, "line 9, key packages.gold.credits: must be true or false"),
    ("float-amount", BASE.replace("credits = true", "credit_cost = 0.1"), 2, "line 9, key packages.gold.credit_cost"),
    ("bad-limit", BASE.replace("credits = true", "limits = { daily = -1 }"), 2, "line 9, key packages.gold.limits.daily"),
    ("unknown-limit", BASE.replace("credits = true", "limits = { dailly = 5 }"), 2, "key packages.gold.limits.dailly: unknown limit"),
    ("unknown-grant", BASE.replace('"contacts.view"', '"contacts.veiw"'), 2, "line 5, key roles.support.grants"),
    ("package-unknown-role", BASE.replace('role = "support"', 'role = "nosuch"'), 2, "line 8, key packages.gold.role: no role named 'nosuch'"),
    ("member-unknown-role", BASE.replace('role = "viewer"', 'role = "ghost"'), 2,
     'line 15, key accounts."ann@a.example".members."mem@a.example".role: no member role'),
    ("account-unknown-package", BASE.replace('package = "gold"', 'package = "platinum"'), 2,
     'line 12, key accounts."ann@a.example".package: no package named'),
    ("duplicate-email", BASE + '\n[accounts."ANN@a.example"]\npackage = "gold"\n', 2, "ann@a.example is named twice"),
    ("member-and-owner", BASE + '\n[accounts."mem@a.example"]\npackage = "gold"\n', 2, "mem@a.example is named twice"),
    ("builtin-role", BASE + '\n[roles.admin]\ngrants = []\n', 2, "line 17, key roles.admin: admin is a built-in role"),
    ("bad-email", BASE.replace('"ann@a.example".members', '"ann@a.example".members').replace('[accounts."ann@a.example"]\n',
                                                                                             '[accounts."not an email"]\n'), 2,
     'key accounts."not an email"'),
    ("bad-cidr", BASE.replace('package = "gold"', 'package = "gold"\nip_allow = ["300.1.1.1"]'), 2,
     'line 13, key accounts."ann@a.example".ip_allow'),
    ("bad-plan-expiry", BASE.replace('package = "gold"', 'package = "gold"\nplan_expires = "soon"'), 2,
     'line 13, key accounts."ann@a.example".plan_expires'),
    ("domain-unknown-owner", BASE + '\n[domains."d.example"]\nowner = "who@x.example"\n', 2,
     'line 18, key domains."d.example".owner: no account owned by who@x.example'),
    ("grant-to-stranger", BASE + '\n[domains."d.example"]\nowner = "ann@a.example"\ngrants = { "x@y.example" = { role = "admin" } }\n', 2,
     'line 19, key domains."d.example".grants'),
    ("bad-private-key", BASE + '\n[domains."d.example"]\nowner = "ann@a.example"\n'
                               'dkim = [{ selector = "s1", algorithm = "rsa", private_key = "nope" }]\n', 2,
     'line 19, key domains."d.example".dkim.private_key: is not an rsa private key'),
    ("operator-unknown-role", "version = 1\n[operators.bob]\nrole = 'root'\n", 2, "line 3, key operators.bob.role: no operator role"),
]


def _state(cli, db_url):
    return audit_count(db_url), cli("export", "--with-secrets").stdout


@pytest.mark.parametrize("text,code,needle", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_file_names_line_and_key_and_changes_nothing(cli, db_url, tmp_path, text, code, needle):
    path = tmp_path / "state.toml"
    path.write_text(text)
    before = _state(cli, db_url)
    for extra in ((), ("--dry-run",), ("--prune",)):
        refused(cli("apply", str(path), *extra), code, needle)
    assert _state(cli, db_url) == before


def test_the_good_base_applies(cli, tmp_path):
    path = tmp_path / "state.toml"
    path.write_text(BASE)
    assert cli("apply", str(path)).exit_code == 0
    assert "nothing to change" in cli("apply", str(path)).stderr


@pytest.mark.parametrize("args,code,needle", [
    (("export", "--only", "roles,colours"), 2, "unknown section 'colours'"),
    (("export", "--only", ","), 2, "--only needs at least one section"),
    (("apply", "{dir}"), 2, "is a directory"),
    (("apply", "{dir}/missing.toml"), 2, "cannot read"),
    (("export", "{dir}"), 2, "is a directory"),
    (("export", "{dir}/no/such/dir/state.toml"), 2, "no directory"),
    (("export", "{file}/state.toml"), 2, "no directory"),
    (("apply", "{binary}"), 2, "not UTF-8"),
], ids=["only-unknown", "only-empty", "apply-dir", "apply-missing", "export-dir", "export-no-parent", "export-under-file",
        "apply-binary"])
def test_bad_paths_and_options(cli, db_url, tmp_path, args, code, needle):
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "bin.toml").write_bytes(b"version = 1\n\xff\xfe")
    values = {"dir": str(tmp_path), "file": str(tmp_path / "f.txt"), "binary": str(tmp_path / "bin.toml")}
    before = _state(cli, db_url)
    refused(cli(*[a.format(**values) for a in args]), code, needle)
    assert _state(cli, db_url) == before


def test_a_failing_step_rolls_back_the_whole_apply(cli, db_url, tmp_path):
    """A check only the service makes (here: the package's team_members limit) fails mid-plan:
    the roles and packages created before it are rolled back with it."""
    text = BASE.replace("credits = true", "credits = true\nlimits = { team_members = 0 }")
    path = tmp_path / "state.toml"
    path.write_text(text)
    before = _state(cli, db_url)
    result = cli("apply", str(path))
    assert result.exit_code == 6, result
    assert _state(cli, db_url) == before
