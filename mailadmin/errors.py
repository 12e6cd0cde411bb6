"""Domain errors, each carrying the exit code SPEC section 2 gives it.

Services raise these; the one error boundary in `cli/app.py` turns them into a single stderr
line and the process exit status. Nothing else decides exit codes.
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
