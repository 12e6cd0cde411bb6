"""Domain errors, each carrying the exit code SPEC section 2 gives it, and the table of codes.

Services raise these; the one error boundary in `cli/app.py` turns them into a single stderr
line and the process exit status. Nothing else decides exit codes. `EXIT_CODES` is the one
declaration of what each code means: the root `--help` and the README's table are made from it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # a denied `can`, a partly failed bulk run, a mismatch found by verify
    USAGE = 2  # usage or invalid input
    NOT_FOUND = 3
    PERMISSION_DENIED = 4
    CONFLICT = 5  # conflict or state not allowed
    LIMIT_EXCEEDED = 6
    TEMPORARY = 75  # store locked past the busy timeout, server unreachable: retry later
    CONFIG = 78  # bad config file, schema needs `mailadmin db upgrade`
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


EXIT_CODES: dict[ExitCode, tuple[str, str]] = {  # code -> (short meaning for --help, README text)
    ExitCode.OK: ("ok", 'ok (also a replayed idempotent request: "already applied")'),
    ExitCode.FAILURE: ("failure (a denied check, a partly failed bulk run)",
                       "failure: a denied `can`, a partly failed bulk run, `verify` found a mismatch"),
    ExitCode.USAGE: ("usage or invalid input",
                     "usage or invalid input (also: a destructive change without `--yes` and no terminal to ask)"),
    ExitCode.NOT_FOUND: ("not found", "not found"),
    ExitCode.PERMISSION_DENIED: ("permission denied", "permission denied"),
    ExitCode.CONFLICT: ("conflict or state not allowed", "conflict, or a state that does not allow the change"),
    ExitCode.LIMIT_EXCEEDED: ("limit exceeded", "limit exceeded"),
    ExitCode.TEMPORARY: ("store or DNS server temporarily unavailable (retry)",
                         "temporarily unavailable (the store locked past the busy timeout or unreachable, a DNS server "
                         "that does not answer): retry"),
    ExitCode.CONFIG: ("configuration (bad config, `mailadmin db upgrade` needed)",
                      "configuration: bad config file, store not initialised, schema needs `mailadmin db upgrade`"),
    ExitCode.INTERRUPTED: ("interrupted", "interrupted (Ctrl-C)"),
}


def exit_codes_help() -> str:
    """One paragraph for the root `--help`."""
    return "Exit codes: " + "; ".join(f"{int(code)} {short}" for code, (short, _long) in EXIT_CODES.items()) + "."


def exit_codes_markdown() -> str:
    """The README's table."""
    rows = [f"| {int(code)} | {text} |" for code, (_short, text) in EXIT_CODES.items()]
    return "\n".join(["| code | meaning |", "|---|---|", *rows])


class MailadminError(Exception):
    """Base of every expected failure. `hint` names the next command to run, when there is one."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class Failure(MailadminError):
    exit_code = ExitCode.FAILURE


class InvalidInput(MailadminError):
    exit_code = ExitCode.USAGE


class NotFound(MailadminError):
    exit_code = ExitCode.NOT_FOUND


class PermissionDenied(MailadminError):
    exit_code = ExitCode.PERMISSION_DENIED


class Conflict(MailadminError):
    exit_code = ExitCode.CONFLICT


class LimitExceeded(MailadminError):
    exit_code = ExitCode.LIMIT_EXCEEDED


class StoreUnavailable(MailadminError):
    exit_code = ExitCode.TEMPORARY


class ConfigError(MailadminError):
    exit_code = ExitCode.CONFIG


class ServiceUnavailable(MailadminError):
    """A server other than the store (a DNS server) timed out, refused or failed: retry later (75)."""

    exit_code = ExitCode.TEMPORARY
