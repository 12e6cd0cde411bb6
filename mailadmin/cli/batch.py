"""`mailadmin batch`: many mailadmin commands, one a line, in one process.

Every line runs through the same entry point as the command line (`app.invoke`, the root command
built once), with its own Invocation and captured streams; the lines share what the batch holds
(cli/context.py `Shared`): one store and engine, the config file, --db and --as, and the operator
check's answer for reads. Nothing is kept beyond the batch. The whole file is read and checked
before the first line runs, so a line that is not a mailadmin command changes nothing at all.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import typer

from mailadmin.cli.context import current

app = typer.Typer()

# Commands that open the store their own way (migrations, the backup API, the store's creation):
# they cannot join the one transaction of an --atomic batch.
NOT_ATOMIC = ("init", "db")


class Line(NamedTuple):
    number: int  # in the file, counting from 1
    text: str  # the line as written
    argv: list[str]


@app.command("batch")
def batch(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="The commands, one a line; - (the default) reads stdin.")] = "-",
    atomic: Annotated[bool, typer.Option("--atomic", help="Run every line in one transaction: the first line that fails "
                                                          "stops the batch and rolls back every line (exit 1).")] = False,
    stop_on_error: Annotated[bool, typer.Option("--stop-on-error", help="Stop at the first line that fails; the lines "
                                                                        "after it are not run and not printed.")] = False,
) -> None:
    """Run mailadmin commands from FILE (or stdin), one a line, in one process: a JSON line per command.

    Lines are split as a shell splits them (`#` starts a comment: quote '#ID'); a leading `mailadmin` is optional. Each command prints {"line", "command", "exit", "output", "error", "message"} on one line of stdout. The batch's --db and --as apply to every line. Nothing prompts: a destructive line without --yes is that line's exit 2. The file is checked before anything runs: a line that is not a mailadmin command is exit 2, naming the line, and nothing runs.

    Exit 0 when every line exited 0, else 1; 2 when the file cannot be read or a line is not a command (nothing ran); 130 when interrupted.

    Example: mailadmin batch --atomic changes.txt
    """
    from typer._click.globals import get_current_context

    inv = current()
    root = get_current_context().find_root().command
    lines = check_lines(read_lines(inv, file), root, atomic=atomic, batch_as=inv.as_user)
    failed = run_lines(inv, root, lines, atomic=atomic, stop_on_error=stop_on_error)
    if failed:
        raise typer.Exit(1)


def read_lines(inv, file: str) -> list[tuple[int, str]]:
    """(number, text) of every line that is not blank or a comment; the file as a whole must be
    readable UTF-8 text (exit 2 naming the line that is not)."""
    from mailadmin.errors import InvalidInput

    if file == "-":
        if inv.stdin.isatty():
            raise InvalidInput("batch reads its commands from FILE or stdin, and stdin is a terminal",
                               hint="give a FILE, or pipe the commands in")
        source = "stdin"
        raw = getattr(inv.stdin, "buffer", None)
        data: bytes | str = raw.read() if raw is not None else inv.stdin.read()
    else:
        source = file
        try:
            with open(file, "rb") as handle:
                data = handle.read()
        except IsADirectoryError:
            raise InvalidInput(f"{file} is a directory, not a file of commands") from None
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from None
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InvalidInput(f"{source} line {line} is not UTF-8 text; save the file as UTF-8") from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    return [(n, t.strip()) for n, t in enumerate(text.splitlines(), 1) if t.strip() and not t.strip().startswith("#")]


def check_lines(raw: list[tuple[int, str]], root: Any, *, atomic: bool, batch_as: str | None) -> list[Line]:
    """Every line split and its command found, before any runs: exit 2 naming the first line
    that is not a mailadmin command (unknown, `batch` itself, unbalanced quotes, its own --db)."""
    import shlex

    from mailadmin.errors import InvalidInput

    lines = []
    for number, text in raw:
        try:
            argv = shlex.split(text, comments=True)
        except ValueError as exc:  # "No closing quotation", "No escaped character"
            raise InvalidInput(f"line {number} is not a mailadmin command: {str(exc).lower()}",
                               hint="quote as in a shell") from None
        if argv[:1] == ["mailadmin"]:
            argv = argv[1:]
        if not argv:
            continue  # only a comment after all
        words = _command_words(number, argv, batch_as)
        if words:
            _check_command(number, root, words, atomic)
        lines.append(Line(number, text, argv))
    return lines


def _command_words(number: int, argv: list[str], batch_as: str | None) -> list[str]:
    """The words naming the command, after the global options; none for a line asking for help
    or the version (Click answers those)."""
    from mailadmin.errors import InvalidInput

    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        option = argv[i].split("=", 1)[0]
        if option == "--db":
            raise InvalidInput(f"line {number} gives --db; a batch runs on one store", hint="give --db to `mailadmin batch`")
        if option == "--as":
            if batch_as is not None:
                raise InvalidInput(f"line {number} gives --as; this batch runs as {batch_as} (its --as)")
            i += 1 if "=" in argv[i] else 2
            continue
        return []  # --help, --version, or an unknown option Click will name
    if i >= len(argv):
        raise InvalidInput(f"line {number} names no command")
    return argv[i:]


def _check_command(number: int, root: Any, words: list[str], atomic: bool) -> None:
    from mailadmin.errors import InvalidInput

    group, path = root, []
    for word in words:
        if word.startswith("-") or not hasattr(group, "commands"):
            break
        command = group.commands.get(word)
        if command is None:
            where = f"`mailadmin {' '.join(path)}`" if path else "mailadmin"
            raise InvalidInput(f"line {number} is not a mailadmin command: {word!r} is not a command of {where}",
                               hint=f"see `{where.strip('`')} --help`")
        path.append(word)
        group = command
    if path[:1] == ["batch"]:
        raise InvalidInput(f"line {number} runs batch inside a batch", hint="put its lines in this file instead")
    if atomic and path[:1] and path[0] in NOT_ATOMIC:
        raise InvalidInput(f"line {number}: `mailadmin {' '.join(path)}` cannot run inside an --atomic batch",
                           hint="run it before the batch")


class _RollBack(Exception):
    """The first failing line of an --atomic batch: undo every line."""


def run_lines(inv, root: Any, lines: list[Line], *, atomic: bool, stop_on_error: bool) -> bool:
    """Run the lines, print one JSON line for each; True when any failed. With `atomic`, every
    line joins one transaction, opened when a line first opens the store."""
    import contextlib
    import io

    from mailadmin.cli.app import invoke
    from mailadmin.cli.context import Shared
    from mailadmin.errors import ExitCode
    from mailadmin.render import batch as render

    transaction = contextlib.ExitStack()
    shared = Shared(db=inv.db, as_user=inv.as_user, atomic=atomic,
                    opened=(lambda store: transaction.enter_context(store.one_transaction())) if atomic else None)
    empty = io.StringIO("")  # no line reads the batch's stdin (it may be the batch itself)
    failed_line: int | None = None
    current_line: Line | None = None
    run = 0
    try:
        with transaction:
            for current_line in lines:
                out, err = io.StringIO(), io.StringIO()
                code = invoke(current_line.argv, stdin=empty, stdout=out, stderr=err, env=inv.env, root=root,
                              shared=shared)
                run += 1
                render.emit(inv.stdout, render.line_result(current_line.number, current_line.text, code,
                                                           out.getvalue(), err.getvalue()))
                inv.stdout.flush()  # a reader sees each line's result as it comes (tail -f, a pipe)
                if code == ExitCode.INTERRUPTED:
                    raise KeyboardInterrupt
                if code != 0:
                    failed_line = failed_line or current_line.number
                    if atomic:
                        raise _RollBack
                    if stop_on_error:
                        break
            current_line = None
    except _RollBack:
        pass
    except KeyboardInterrupt:
        _say_interrupted(inv, current_line, atomic)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    finally:
        shared.close()
    if atomic:
        committed = failed_line is None
        render.emit(inv.stdout, render.BATCH_ATOMIC(atomic=True, committed=committed, rolled_back=not committed,
                                                    lines_run=run, failed_line=failed_line))
    return failed_line is not None


def _say_interrupted(inv, line: Line | None, atomic: bool) -> None:
    """Ctrl-C: which line it stopped at, and what stays changed. The boundary's own line is
    replaced by this one."""
    inv.interrupted = False
    where = f"at line {line.number} (`{line.text}`)" if line is not None else "after the last line"
    if atomic:
        done = "nothing was committed (--atomic)"
    elif line is not None:
        done = "the lines before it stay done; see its JSON line for what it did"
    else:
        done = "every line ran"
    lead = "\n" if inv.stderr.isatty() else ""
    inv.stderr.write(f"{lead}interrupted {where}; {done}\n")
