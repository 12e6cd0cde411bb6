"""A person at a terminal (issue 8): with ids coming on stdin the question is asked on the
terminal itself (/dev/tty) and names the count; Ctrl-C at a prompt says nothing was changed.
A real pseudo-terminal is the process's controlling terminal, as in an operator's shell."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time

from tests.conftest import REPO


class Terminal:
    """mailadmin started with a pty as its controlling terminal (and stderr); stdin as given."""

    def __init__(self, args: list[str], env: dict[str, str], *, stdin_data: str | None = None) -> None:
        self.master, slave = pty.openpty()

        def take_terminal() -> None:  # runs in the child after setsid: the pty becomes /dev/tty
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailadmin", *args], env={**os.environ, **env, "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE if stdin_data is not None else slave, stdout=subprocess.PIPE, stderr=slave,
            start_new_session=True, preexec_fn=take_terminal, pass_fds=(slave,),
        )
        os.close(slave)
        if stdin_data is not None:
            self.proc.stdin.write(stdin_data.encode())
            self.proc.stdin.close()
        self.screen = ""

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.screen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:
                    break
        assert text in self.screen, self.screen
        return self.screen

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout=timeout)
        try:
            while select.select([self.master], [], [], 0.2)[0]:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.screen += chunk.decode(errors="replace")
        except OSError:
            pass
        os.close(self.master)
        return code


def _two_users(cli) -> None:
    assert cli("packages", "create", "free", "--role", "regular").exit_code == 0
    for email in ("a@example.com", "b@example.com"):
        assert cli("users", "create", email, "--package", "free").exit_code == 0


def test_ids_on_stdin_are_confirmed_at_the_terminal(cli, cli_env):
    _two_users(cli)
    term = Terminal(["users", "suspend", "-", "--reason", "unpaid"], cli_env, stdin_data="a@example.com\nb@example.com\n")
    term.wait_for("suspend 2 users? [y/N]")
    term.type("y\n")
    assert term.finish() == 0
    assert sorted(cli("users", "list", "--status", "suspended", "-o", "ids").stdout.split()) == ["a@example.com", "b@example.com"]


def test_no_at_the_terminal_changes_nothing(cli, cli_env):
    _two_users(cli)
    term = Terminal(["users", "close", "-", "--reason", "gone"], cli_env, stdin_data="a@example.com\nb@example.com\n")
    term.wait_for("close 2 users? [y/N]")
    term.type("n\n")
    assert term.finish() == 1
    assert "cancelled; nothing changed" in term.screen
    assert cli("users", "list", "--status", "closed", "-o", "ids").stdout == ""


def test_ctrl_c_at_a_prompt_says_nothing_was_changed(cli, cli_env):
    _two_users(cli)
    term = Terminal(["users", "suspend", "-", "--reason", "unpaid"], cli_env, stdin_data="a@example.com\n")
    term.wait_for("[y/N]")
    term.type("\x03")  # the terminal turns it into SIGINT for the foreground process
    assert term.finish() == 130
    assert "interrupted; nothing was changed" in term.screen and "Traceback" not in term.screen
    assert cli("users", "list", "--status", "suspended", "-o", "ids").stdout == ""


def test_ctrl_c_in_the_wizard_says_nothing_was_changed(cli, cli_env):
    _two_users(cli)
    term = Terminal(["users", "create"], cli_env)
    term.wait_for("email")
    term.type("\x03")
    assert term.finish() == 130
    assert "interrupted; nothing was changed" in term.screen and "Traceback" not in term.screen
