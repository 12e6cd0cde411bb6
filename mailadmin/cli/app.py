"""The root command: global options, the command groups, and the one error boundary.

Only Typer is imported at start-up; each command imports the store, services and Rich it needs
inside its body, so `--help`, `--version` and completion stay fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, Optional, Sequence

import typer
from typer.core import TyperGroup

from mailadmin import __version__
from mailadmin.cli.context import state
from mailadmin.errors import ExitCode, MailadminError

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 failure (a denied check, a partly failed bulk run); 2 usage or invalid input; "
    "3 not found; 4 permission denied; 5 conflict or state not allowed; 6 limit exceeded; "
    "75 store temporarily unavailable (retry); 78 configuration (bad config, `mailadmin db upgrade` needed)."
)


# Command groups, loaded when first named: a command builds only its own group's Typer tree.
LAZY_GROUPS = {
    "roles": "mailadmin.cli.roles",
    "packages": "mailadmin.cli.packages",
    "users": "mailadmin.cli.users",
    "credits": "mailadmin.cli.credits",
    "audit": "mailadmin.cli.audit",
    "db": "mailadmin.cli.db",
    "config": "mailadmin.cli.config",
}


class LazyCommands(MutableMapping):
    """The root's command table: every name is listed, a group is imported on first lookup.

    Click reads `commands` for dispatch, help and "did you mean"; all of them see every name."""

    def __init__(self, eager: MutableMapping[str, Any]) -> None:
        self._loaded: dict[str, Any] = dict(eager)
        self._names = [*eager, *(n for n in LAZY_GROUPS if n not in eager)]

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in LAZY_GROUPS:
                raise KeyError(name)
            group = typer.main.get_command(importlib.import_module(LAZY_GROUPS[name]).app)
            group.name = name
            self._loaded[name] = group
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]
        self._names.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class BoundaryGroup(TyperGroup):
    """The root command, and the error boundary: every failure becomes one stderr line and a
    documented exit code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = LazyCommands(self.commands)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if os.environ.get("_MAILADMIN_COMPLETE"):
            # add_completion=False skips registering the shells; completion still needs them
            from typer._completion_classes import completion_init

            completion_init()
        code = run_guarded(
            lambda: super(BoundaryGroup, self).main(
                args, prog_name or "mailadmin", complete_var, standalone_mode=False, **extra
            )
        )
        sys.exit(code)


def run_guarded(call) -> int:
    """Run a command; map what it raises to (stderr line, exit code). Tracebacks only with
    MAILADMIN_DEBUG=1."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    debug = os.environ.get("MAILADMIN_DEBUG") == "1"
    try:
        result = call()
        return int(result) if isinstance(result, int) else ExitCode.OK
    except MailadminError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _error(exc.message, exc.hint)
        return exc.exit_code
    except click_exc.NoArgsIsHelpError as exc:
        if text := exc.format_message().strip():  # plain help; Rich help is already printed
            sys.stderr.write(text + "\n")
        return ExitCode.USAGE
    except click_exc.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "mailadmin"
        _error(exc.format_message(), f"see `{command} --help`")
        return ExitCode.USAGE
    except click_exc.ClickException as exc:  # bad file argument and the like
        _error(exc.format_message())
        return ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
    except typer_exc.Abort:
        _error("aborted")
        return ExitCode.FAILURE
    except SystemExit as exc:  # Rich exits 1 when the reader of stdout went away
        return exc.code if isinstance(exc.code, int) else ExitCode.FAILURE
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # the reader (head, grep -m) went away: not an error of ours; keep Python quiet at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            raise
        _error(f"internal error: {type(exc).__name__}: {exc}", "run again with MAILADMIN_DEBUG=1 for the traceback")
        return ExitCode.FAILURE
    finally:
        if "mailadmin.store" in sys.modules:
            from mailadmin.store import close_all

            close_all()


def _error(message: str, hint: str | None = None) -> None:
    line = " ".join(f"error: {message.rstrip('.')}".split())  # one line, whatever the message held
    if hint:
        line += f"; {hint}"
    sys.stderr.write(line + "\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mailadmin {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=BoundaryGroup,
    name="mailadmin",
    help="Administer an email-sending platform: roles, packages, users, domains and credits.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,  # static scripts live in completions/ (shell detection fails in CI)
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    db_url: Annotated[
        Optional[str],
        typer.Option("--db", envvar="MAILADMIN_DB", metavar="PATH_OR_URL",
                     help="SQLite file or postgresql+psycopg:// URL. Default: config `database`, else a file in the user data directory.",
                     show_envvar=True),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Administer an email-sending platform: roles, packages, users, domains and credits."""
    state.db = db_url


@app.command("init")
def init(
    sample: Annotated[bool, typer.Option("--sample", help="Also load demo data (roles, packages, accounts).")] = False,
) -> None:
    """Create or upgrade the store and its built-in roles.

    Example: mailadmin init --sample
    """
    from mailadmin.cli.context import actor, store
    from mailadmin.render.output import message
    from mailadmin.services import setup

    report = setup.init(store(check_schema=False), actor(), sample=sample)
    message(report.summary())




def main() -> None:
    app()
