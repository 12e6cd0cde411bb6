"""The root command: global options, the command groups, the one entry point and error boundary.

Only Typer is imported at start-up; each command imports the store, services and Rich it needs
inside its body, so `--help`, `--version` and completion stay fast. `invoke()` runs one command
line with its own Invocation (streams, environment, config, store): the console script, the
tests and batch mode all go through it, so a run leaves nothing behind for the next.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Annotated, Any, Mapping, Optional, Sequence, TextIO

import typer
from typer.core import TyperGroup

from mailadmin import __version__
from mailadmin.cli.complete import complete_users
from mailadmin.cli.context import Invocation, Shared, current
from mailadmin.cli.streams import DataStream, MessageStream, OutputFailed
from mailadmin.errors import ExitCode, MailadminError, exit_codes_help


def _flags_show_no_type(option: Any, ctx: Any) -> str | None:
    """Help lists a flag without a type label: Typer 0.29 prints `<bool>` beside every flag
    (--yes, --help...), which reads as noise. Values keep their metavar (N, FORMAT, USER)."""
    if option.is_flag and option.metavar is None:
        return None
    return _typer_option_type(option, ctx)


def _arguments_show_their_metavar(argument: Any, ctx: Any) -> str | None:
    """An argument with a metavar (USER, ROLE) is already named by it; `<str>` beside it is noise."""
    return None if argument.metavar else _typer_argument_type(argument, ctx)


# Typer is pinned to 0.29 (pyproject), whose rich help these two lines adjust
_typer_option_type, _typer_argument_type = typer.core.TyperOption.display_type_rich, typer.core.TyperArgument.display_type_rich
typer.core.TyperOption.display_type_rich = _flags_show_no_type
typer.core.TyperArgument.display_type_rich = _arguments_show_their_metavar


# Command groups, loaded when first named: a command builds only its own group's Typer tree.
LAZY_GROUPS = {
    "roles": "mailadmin.cli.roles",
    "packages": "mailadmin.cli.packages",
    "users": "mailadmin.cli.users",
    "credits": "mailadmin.cli.credits",
    "domains": "mailadmin.cli.domains",
    "operators": "mailadmin.cli.operators",
    "audit": "mailadmin.cli.audit",
    "db": "mailadmin.cli.db",
    "config": "mailadmin.cli.config",
}

# Single top-level commands kept in their own modules, built the same way when first named:
# name -> (module, the name the module's `app` registers the command under).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "batch": ("mailadmin.cli.batch", "batch"),
    "export": ("mailadmin.cli.state", "export"),
    "apply": ("mailadmin.cli.state", "apply"),
}


class LazyCommands(MutableMapping):
    """A command table that lists every name and builds a command on first lookup.

    Click reads `commands` for dispatch, help and "did you mean"; all of them see every name, but
    running one command builds only that command: Typer turns a function into a Click command by
    reading its signature and type hints, which costs about 3 ms a command, so building a whole
    group of twenty to run one of them would cost more than the command."""

    def __init__(self, eager: MutableMapping[str, Any], loaders: dict[str, Callable[[], Any]]) -> None:
        self._loaded: dict[str, Any] = dict(eager)
        self._loaders = loaders
        self._names = [*eager, *(n for n in loaders if n not in eager)]

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in self._loaders:
                raise KeyError(name)
            command = self._loaders[name]()
            command.name = name
            self._loaded[name] = command
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

    def with_stand_ins(self, help_lines: Mapping[str, tuple[str, bool]]) -> "LazyCommands":
        """The same table for a help listing: what is not built yet is a stand-in with its help
        line (help_lines: name -> (help, is_group)), else built as usual."""
        stand_ins = LazyCommands({}, dict(self._loaders))
        stand_ins._loaded = dict(self._loaded)
        stand_ins._names = list(self._names)
        for name in self._names:
            if name not in self._loaded and name in help_lines:
                text, is_group = help_lines[name]
                stand_ins._loaded[name] = (TyperGroup if is_group else typer.core.TyperCommand)(name=name, help=text)
        return stand_ins

    def __len__(self) -> int:
        return len(self._names)


def lazy_group(typer_app: typer.Typer) -> TyperGroup:
    """A Typer app as a Click group whose commands are built when first looked up (sub-groups too)."""
    registered, groups = typer_app.registered_commands, typer_app.registered_groups
    typer_app.registered_commands, typer_app.registered_groups = [], []
    try:
        group = typer.main.get_group(typer_app)  # the group itself: its help, callback, options
    finally:
        typer_app.registered_commands, typer_app.registered_groups = registered, groups
    settings = dict(pretty_exceptions_short=typer_app.pretty_exceptions_short, rich_markup_mode=typer_app.rich_markup_mode)
    loaders: dict[str, Callable[[], Any]] = {}
    for info in registered:
        name = info.name or typer.main.get_command_name(info.callback.__name__)
        loaders[name] = lambda info=info: typer.main.get_command_from_info(info, **settings)
    for info in groups:
        loaders[info.name] = lambda info=info: lazy_group(info.typer_instance)
    group.commands = LazyCommands({}, loaders)
    return group


def lazy_command(module: str, name: str) -> Any:
    """One command of a module's Typer `app`, as a Click command (for LAZY_COMMANDS)."""
    typer_app = importlib.import_module(module).app
    for info in typer_app.registered_commands:
        if (info.name or typer.main.get_command_name(info.callback.__name__)) == name:
            return typer.main.get_command_from_info(info, pretty_exceptions_short=typer_app.pretty_exceptions_short,
                                                    rich_markup_mode=typer_app.rich_markup_mode)
    raise KeyError(name)


class BoundaryGroup(TyperGroup):
    """The root command, and the error boundary: every failure becomes one stderr line and a
    documented exit code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        loaders: dict[str, Callable[[], Any]] = {
            name: (lambda module=module: lazy_group(importlib.import_module(module).app)) for name, module in LAZY_GROUPS.items()}
        loaders.update({name: (lambda where=where: lazy_command(*where)) for name, where in LAZY_COMMANDS.items()})
        self.commands = LazyCommands(self.commands, loaders)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help lists every command without building it: a group or command not loaded
        yet is shown by a stand-in carrying its help line from completion.json (the generated
        command tree), so `mailadmin --help` imports no group module (about 60 ms, 10 modules).
        A name the file does not know yet (a new command before the lead regenerates it) is
        loaded for real."""
        commands = self.commands
        if not isinstance(commands, LazyCommands):
            return super().format_help(ctx, formatter)
        self.commands = commands.with_stand_ins(_help_lines())
        try:
            return super().format_help(ctx, formatter)
        finally:
            self.commands = commands

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """What `app()` and CliRunner call: one invocation on the process's streams."""
        if args is None:
            args = sys.argv[1:]
        sys.exit(invoke(list(args), root=self, prog_name=prog_name or "mailadmin", complete_var=complete_var))


def _help_lines() -> dict[str, tuple[str, bool]]:
    """name -> (help line, is a group) of every top-level command, from completion.json; empty
    when the file cannot be read (the help then builds the commands)."""
    import json
    from pathlib import Path

    try:
        spec = json.loads(Path(__file__).with_name("completion.json").read_text(encoding="utf-8"))
        return {name: (entry["help"], "commands" in entry) for name, entry in spec["commands"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def invoke(argv: Sequence[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None,
           stderr: TextIO | None = None, env: Mapping[str, str] | None = None, root: BoundaryGroup | None = None,
           prog_name: str = "mailadmin", complete_var: str | None = None, shared: Shared | None = None) -> int:
    """Run one mailadmin command line and return its exit code; never raises, never exits.

    Streams default to the process's; given ones also receive what Click itself prints (help,
    usage errors) for the length of the call. `root` lets a caller that runs many lines (batch)
    build the command tree once, and `shared` (a batch's) what its lines share: the store, the
    config, --db and --as."""
    inv = Invocation(stdin or sys.stdin, DataStream(stdout or sys.stdout), MessageStream(stderr or sys.stderr),
                     os.environ if env is None else env, shared=shared)
    if root is None:
        root = typer.main.get_command(app)
    with contextlib.ExitStack() as redirect:
        if stdout is not None:
            redirect.enter_context(contextlib.redirect_stdout(stdout))
        if stderr is not None:
            redirect.enter_context(contextlib.redirect_stderr(stderr))
        redirect.enter_context(_noting_interrupts(inv))
        return run_guarded(
            inv, lambda: TyperGroup.main(root, list(argv), prog_name, complete_var, standalone_mode=False, obj=inv)
        )


def run_guarded(inv: Invocation, call) -> int:
    """Run a command; map what it raises to (stderr line, exit code). Tracebacks only with
    MAILADMIN_DEBUG=1."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    debug = inv.env.get("MAILADMIN_DEBUG") == "1"

    def _error(message: str, hint: str | None = None, *, level: str = "error") -> None:
        _write_error(inv.stderr, message, hint, level=level)

    try:
        result = call()
        if inv.interrupted:  # Typer turns Ctrl-C into a silent exit 130
            return _interrupted(inv)
        inv.stdout.flush()  # inside the guard: a full disk shows here, not at interpreter exit
        return int(result) if isinstance(result, int) else ExitCode.OK
    except OutputFailed as exc:
        _silence(inv.stdout)
        if inv.committed:
            _error(f"the change was made, but its output could not be written: {exc}", "see `mailadmin audit list`",
                   level="warning")
            return ExitCode.OK
        if exc.reader_gone:  # `| head -1`: the reader had enough; not an error of ours
            return ExitCode.OK
        _error(f"cannot write the output: {exc}")
        return ExitCode.FAILURE
    except MailadminError as exc:
        if debug:
            import traceback

            traceback.print_exc(file=inv.stderr)
        _error(exc.message, exc.hint)
        return exc.exit_code
    except click_exc.NoArgsIsHelpError as exc:
        if text := exc.format_message().strip():  # plain help; Rich help is already printed
            inv.stderr.write(text + "\n")
        return ExitCode.USAGE
    except click_exc.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "mailadmin"
        _error(exc.format_message(), f"see `{command} --help`")
        return ExitCode.USAGE
    except click_exc.ClickException as exc:  # bad file argument and the like
        _error(exc.format_message())
        return ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
    except (typer_exc.Abort, KeyboardInterrupt):  # Ctrl-C (at a prompt Click turns it into Abort)
        return _interrupted(inv)
    except SystemExit as exc:  # Rich exits 1 when the reader of stdout went away
        return exc.code if isinstance(exc.code, int) else ExitCode.FAILURE
    except BrokenPipeError:
        # the reader (head, grep -m) went away while Click printed: not an error of ours
        _silence(inv.stdout)
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            raise
        _error(f"internal error: {type(exc).__name__}: {exc}", "run again with MAILADMIN_DEBUG=1 for the traceback")
        return ExitCode.FAILURE
    finally:
        inv.close()


@contextlib.contextmanager
def _noting_interrupts(inv: Invocation):
    """Ctrl-C stays a KeyboardInterrupt (so a driver cancels its query), and the invocation
    remembers it, so the boundary can say so whatever Typer makes of it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; a server's workers have none to note
        return

    def note(signum, frame):
        inv.interrupted = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted(inv: Invocation) -> int:
    """One line, on a line of its own, saying whether anything was changed; exit 130."""
    lead = "\n" if inv.stderr.isatty() else ""  # the cursor may sit after a prompt or a bar
    done = "the change was already made" if inv.committed else "nothing was changed"
    inv.stderr.write(f"{lead}interrupted; {done}\n")
    return ExitCode.INTERRUPTED


def _silence(stream) -> None:
    """Point a failed stdout at /dev/null, so the interpreter's last flush does not fail again
    (Python's docs, "Note on SIGPIPE")."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())


def _write_error(stream: TextIO, message: str, hint: str | None = None, *, level: str = "error") -> None:
    line = " ".join(f"{level}: {message.rstrip('.')}".split())  # one line, whatever the message held
    if hint:
        line += f"; {hint}"
    stream.write(line + "\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mailadmin {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=BoundaryGroup,
    name="mailadmin",
    help="Administer an email-sending platform: roles, packages, users, domains and credits.",
    epilog=exit_codes_help(),
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
        typer.Option("--db", metavar="PATH_OR_URL",
                     help="SQLite file or postgresql+psycopg:// URL [env var: MAILADMIN_DB]. Default: config `database`, "
                          "else a file in the user data directory."),
    ] = None,
    as_user: Annotated[
        Optional[str],
        typer.Option("--as", metavar="USER", autocompletion=complete_users,
                     help="Run the command as this client user (email or #ID), with that user's permissions and "
                          "visibility [env var: MAILADMIN_AS]. Audited as you, acting as them."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Administer an email-sending platform: roles, packages, users, domains and credits."""
    inv = current()
    if inv.shared is not None:  # a line of a batch: the batch's --db and --as
        from mailadmin.errors import InvalidInput

        if db_url is not None:
            raise InvalidInput("a batch line may not give --db", hint="give --db to `mailadmin batch`")
        if as_user is not None and inv.shared.as_user is not None:
            raise InvalidInput(f"this batch runs as {inv.shared.as_user}; a line may not give its own --as")
        inv.db, inv.as_user = inv.shared.db, as_user or inv.shared.as_user
        return
    inv.db = db_url or inv.env.get("MAILADMIN_DB") or None
    inv.as_user = as_user or inv.env.get("MAILADMIN_AS") or None


@app.command("init")
def init(
    sample: Annotated[bool, typer.Option("--sample", help="Also load demo data (roles, packages, accounts).")] = False,
) -> None:
    """Create or upgrade the store and its built-in roles.

    Example: mailadmin init --sample
    """
    from mailadmin.render.setup import init_summary
    from mailadmin.services import setup

    inv = current()
    store = inv.store(check_schema=False, create=True)
    inv.admit()
    report = setup.init(store, inv.actor(), inv.clock, sample=sample)
    inv.out.message(init_summary(report))




def main() -> None:
    sys.exit(invoke(sys.argv[1:]))
