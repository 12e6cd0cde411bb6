"""`mailadmin domains credentials` through the CLI: a reset prints the password once and stores
only Argon2id; `--check` is an auth hook's exit status; a grace period keeps the old password
working until it ends; `--export-passwd` feeds Dovecot, and the real Dovecot (doveadm pw, and an
auth server with two passdbs for the grace period) accepts what we store and export."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time

import pytest

from tests.helpers import audit_count, refused

OWNER = "owner@cred.example"
D, E = "mail.cred.example", "bücher.example"
T0 = "2026-11-26T12:00:00Z"
AT = {  # the clock of each step, as a real process reads it
    "t0": {"MAILADMIN_TEST_NOW": T0},
    "t0+1h": {"MAILADMIN_TEST_NOW": "2026-11-26T13:00:00Z"},
    "t0+3h": {"MAILADMIN_TEST_NOW": "2026-11-26T15:00:00Z"},
}


@pytest.fixture
def domain(cli):
    assert cli("packages", "create", "pro", "--role", "admin").exit_code == 0
    assert cli("users", "create", OWNER, "--package", "pro").exit_code == 0
    assert cli("domains", "add", D, "--user", OWNER, "--algorithm", "ed25519").exit_code == 0
    return D


def stored(db_url: str, domain: str = D) -> dict:
    """The credential row as the store holds it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT c.username, c.secret_hash, c.previous_hash, c.previous_until FROM smtp_credential c "
                "JOIN domain d ON d.id = c.domain_id WHERE d.name = :name"), {"name": domain}).mappings().first()
    finally:
        engine.dispose()
    return dict(row) if row else {}


def reset(cli, *extra: str, env: dict | None = None) -> dict:
    r = cli("domains", "credentials", D, "--reset", *extra, "-o", "json", env=env)
    assert r.exit_code == 0, r
    return r.json()


def check(cli, password: str, env: dict | None = None, domain: str = D):
    return cli("domains", "credentials", domain, "--check", input=password + "\n", env=env)


# -- reset -------------------------------------------------------------------------------------
def test_a_reset_prints_a_strong_password_once_and_stores_only_argon2id(cli, db_url, domain):
    from mailadmin.render.domains import SMTP_SECRET

    before = audit_count(db_url)
    first = reset(cli)
    assert list(first) == list(SMTP_SECRET.fields)
    assert first["username"] == f"smtp@{D}" and first["created"] is True and first["previous_until"] is None
    password = first["password"]
    # 32 bytes from `secrets`, URL-safe base64: 43 characters, at least 128 bits and then some
    assert len(password) == 43 and set(password) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    row = stored(db_url)
    assert row["secret_hash"].startswith("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$")
    assert password not in row["secret_hash"] and row["previous_hash"] is None
    assert audit_count(db_url) == before + 1
    # a second reset: a new password, same username, the old one dead at once without --grace
    second = reset(cli)
    assert second["created"] is False and second["username"] == first["username"] and second["password"] != password
    assert check(cli, password).exit_code == 1 and check(cli, second["password"]).exit_code == 0
    # the table prints it on stdout too (the data), whole, and says on stderr it will not be shown again
    table = cli("domains", "credentials", D, "--reset")
    assert table.exit_code == 0 and f"smtp@{D}" in table.stdout
    assert "cannot be shown again" in table.stderr and "the previous password no longer works" in table.stderr
    entries = cli("audit", "list", "--target", f"domain:{D}", "-n", "3", "-o", "json").json()
    assert [e["action"] for e in entries] == ["domain.credentials.reset"] * 3
    assert set(entries[0]["after"]) == {"username", "reset_at", "grace_until"} and entries[2]["before"] is None


def test_a_unicode_domain_gets_an_ascii_username(cli, domain):
    assert cli("domains", "add", E, "--user", OWNER, "--algorithm", "ed25519").exit_code == 0
    r = cli("domains", "credentials", "BÜCHER.example", "--reset", "-o", "json")
    assert r.json()["username"] == "smtp@xn--bcher-kva.example"


def test_show_says_username_times_and_grace_never_a_secret(cli, db_url, domain):
    from mailadmin.render.domains import DOMAIN_CREDENTIALS

    refused(cli("domains", "credentials", D), 3, f"{D} has no SMTP credentials yet")
    first = reset(cli, env=AT["t0"])
    second = reset(cli, "--grace", "2h", env=AT["t0"])
    shown = cli("domains", "credentials", D, "-o", "json", env=AT["t0+1h"])
    data = shown.json()
    assert list(data) == list(DOMAIN_CREDENTIALS.fields)
    assert data == {"domain": D, "username": f"smtp@{D}", "created_at": T0, "reset_at": T0, "previous_live": True,
                    "previous_until": "2026-11-26T14:00:00Z"}
    later = cli("domains", "credentials", D, "-o", "json", env=AT["t0+3h"]).json()
    assert later["previous_live"] is False and later["previous_until"] is None
    row = stored(db_url)
    for fmt in ("table", "json", "csv"):
        out = cli("domains", "credentials", D, "-o", fmt, env=AT["t0+1h"])
        for secret in (first["password"], second["password"], row["secret_hash"], row["previous_hash"], "argon2"):
            assert secret not in out.stdout + out.stderr, fmt


# -- check, and the grace period -------------------------------------------------------------------
def test_check_is_an_exit_status_and_prints_nothing_on_stdout(cli, domain):
    refused(check(cli, "anything"), 1, f"{D} has no SMTP credentials yet")
    password = reset(cli)["password"]
    ok = check(cli, password)
    assert (ok.exit_code, ok.stdout) == (0, "") and "current password" in ok.stderr
    for wrong in ("wrong", password[:-1], password + "x", password.upper(), " " + password, "x" * 5000):
        r = check(cli, wrong)
        assert (r.exit_code, r.stdout) == (1, ""), wrong[:20]
        assert "Traceback" not in r.stderr and "does not open" in r.stderr
    # the line end is not part of the password, CRLF or LF, with or without it
    for line in (password, password + "\r\n", password + "\n"):
        assert cli("domains", "credentials", D, "--check", input=line).exit_code == 0
    quiet = cli("domains", "credentials", D, "--check", "-q", input="wrong\n")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (1, "", "")


def test_a_grace_period_keeps_the_old_password_valid_until_it_ends(cli, db_url, domain):
    old = reset(cli, env=AT["t0"])["password"]
    issued = reset(cli, "--grace", "2h", env=AT["t0"])
    new = issued["password"]
    assert issued["previous_until"] == "2026-11-26T14:00:00Z"
    entry = cli("audit", "list", "--target", f"domain:{D}", "-n", "1", "-o", "json").json()[0]
    assert entry["after"]["grace_until"] == "2026-11-26T14:00:00Z"
    # within the grace both open the login; after it only the new one
    for password in (old, new):
        assert check(cli, password, env=AT["t0+1h"]).exit_code == 0
    assert "previous password" in check(cli, old, env=AT["t0+1h"]).stderr
    assert check(cli, old, env=AT["t0+3h"]).exit_code == 1
    assert check(cli, new, env=AT["t0+3h"]).exit_code == 0
    # a reset without --grace during a grace ends it at once
    newest = reset(cli, env=AT["t0+1h"])["password"]
    assert stored(db_url)["previous_hash"] is None
    assert [check(cli, p, env=AT["t0+1h"]).exit_code for p in (old, new, newest)] == [1, 1, 0]


# -- export for Dovecot --------------------------------------------------------------------------
def test_export_passwd_prints_sorted_current_lines_and_previous_ones_in_grace(cli, db_url, domain):
    assert cli("domains", "add", "a.cred.example", "--user", OWNER, "--algorithm", "ed25519").exit_code == 0
    assert cli("domains", "add", "nologin.example", "--user", OWNER, "--algorithm", "ed25519").exit_code == 0
    assert cli("domains", "credentials", "a.cred.example", "--reset", env=AT["t0"]).exit_code == 0
    reset(cli, env=AT["t0"])
    reset(cli, "--grace", "2h", env=AT["t0"])
    lines = cli("domains", "credentials", "--export-passwd", env=AT["t0+1h"]).stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["smtp@a.cred.example", f"smtp@{D}"]
    assert lines[1] == f"smtp@{D}:{stored(db_url)['secret_hash']}"
    one = cli("domains", "credentials", "--export-passwd", D.upper(), env=AT["t0+1h"])
    assert one.stdout.splitlines() == [lines[1]]
    previous = cli("domains", "credentials", "--export-passwd", "--previous", env=AT["t0+1h"]).stdout.splitlines()
    assert previous == [f"smtp@{D}:{stored(db_url)['previous_hash']}"]
    assert cli("domains", "credentials", "--export-passwd", "--previous", env=AT["t0+3h"]).stdout == ""
    refused(cli("domains", "credentials", "--export-passwd", "nologin.example"), 1, "has no SMTP credentials yet")
    refused(cli("--as", OWNER, "domains", "credentials", "--export-passwd"), 4, "operator action")


# -- the real thing: Dovecot ----------------------------------------------------------------------
def _doveadm() -> str:
    path = shutil.which("doveadm")
    if path is None:
        pytest.skip("doveadm not installed: apt-get install dovecot-core")
    return path


def test_doveadm_accepts_the_stored_hash_and_the_exported_line(cli, db_url, domain):
    doveadm = _doveadm()
    password = reset(cli)["password"]
    stored_hash = stored(db_url)["secret_hash"]

    def verify(hashed: str, candidate: str) -> int:
        return subprocess.run([doveadm, "pw", "-t", hashed, "-p", candidate], capture_output=True, text=True,
                              timeout=30).returncode

    assert verify(stored_hash, password) == 0
    assert verify(stored_hash, password + "x") != 0
    line = cli("domains", "credentials", "--export-passwd").stdout.strip()
    username, exported = line.split(":", 1)
    assert username == f"smtp@{D}" and verify(exported, password) == 0 and verify(exported, "wrong") != 0


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
instance_name = mailadmin-test-{tag}
protocols =
ssl = no
default_internal_user = {user}
default_login_user = {user}
auth_mechanisms = plain
# the current secrets first; on a mismatch Dovecot goes on to the next passdb
passdb {{
  driver = passwd-file
  args = {base}/current.passwd
  result_failure = continue
}}
# the previous secrets still within their grace
passdb {{
  driver = passwd-file
  args = {base}/previous.passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
service anvil {{
  chroot =
}}
"""


def test_a_real_dovecot_with_two_passdbs_serves_the_grace_period(cli, run, domain, tmp_path):
    """The README's Dovecot set-up, run for real: the current file, then the previous file; both
    passwords log in during the grace, only the new one after it (once the export runs again)."""
    doveadm = _doveadm()
    dovecot = shutil.which("dovecot")
    if dovecot is None:
        pytest.skip("dovecot not installed: apt-get install dovecot-core")
    base = tmp_path / "dovecot"
    (base / "state").mkdir(parents=True)
    user = getpass.getuser()
    conf = base / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(base=base, user=user, uid=os.getuid(), gid=os.getgid(), tag=tmp_path.name[-12:]))
    old = reset(cli)["password"]
    new = reset(cli, "--grace", "2h")["password"]

    def export() -> None:
        (base / "current.passwd").write_text(run("domains", "credentials", "--export-passwd").stdout)
        (base / "previous.passwd").write_text(run("domains", "credentials", "--export-passwd", "--previous").stdout)

    export()
    pidfile = base / "run" / "master.pid"
    try:
        # it forks into the background: its output goes to a file, or the pipe would stay open
        with open(base / "start.log", "w") as log:
            started = subprocess.run([dovecot, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=30)
        assert started.returncode == 0, (base / "start.log").read_text()
        socket = base / "run" / "auth-client"
        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)

        def login(password: str) -> int:
            return subprocess.run([doveadm, "-c", str(conf), "auth", "test", "-a", str(socket), f"smtp@{D}", password],
                                  capture_output=True, text=True, timeout=30).returncode

        assert login(new) == 0 and login(old) == 0 and login("wrong") != 0
        # the grace ends: the next export leaves the previous file empty, and Dovecot re-reads it
        (base / "previous.passwd").write_text(
            run("domains", "credentials", "--export-passwd", "--previous", env={"MAILADMIN_TEST_NOW": "2099-01-01"}).stdout)
        os.utime(base / "previous.passwd", (time.time() + 5, time.time() + 5))  # a new mtime, even within the same second
        assert login(new) == 0 and login(old) != 0
    finally:
        if pidfile.exists():  # stop the Dovecot this test started, and wait until it is gone
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 15)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
