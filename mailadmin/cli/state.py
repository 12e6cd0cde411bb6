"""`mailadmin export` and `mailadmin apply`: the store's configuration as a TOML document, and back."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.context import current
from mailadmin.cli.options import Quiet, ReportOutput
from mailadmin.render.output import REPORT

app = typer.Typer(help="The store as code: export a TOML document, apply one.")


@app.command("export")
def export(
    file: Annotated[Optional[str], typer.Argument(metavar="[FILE]", help="Write the document here (atomically); default or '-': stdout.",
                                                  show_default=False)] = None,
    only: Annotated[Optional[str], typer.Option("--only", metavar="A,B", show_default=False,
                                                help="Sections: roles,packages,users,domains,operators (default: all).")] = None,
    with_secrets: Annotated[bool, typer.Option("--with-secrets", help="Include DKIM private keys (needs operators.manage; "
                                                                      "a FILE is then written with mode 0600).")] = False,
    quiet: Quiet = False,
) -> None:
    """Print the store's configuration as one TOML document: custom roles, packages, accounts,
    domains, operators. Never a password hash or a credit balance; DKIM private keys only with
    --with-secrets. Ordered by name, so two exports diff line by line.

    Example: mailadmin export --only roles,packages state.toml
    """
    from mailadmin.render import state as render
    from mailadmin.services import state

    inv = current()
    sections = state.parse_only(only)
    target = None if file in (None, "-") else state_file(file)
    with inv.read() as op:
        if with_secrets:
            _may_see_secrets(op)
        text = state.dumps(state.document(op, sections, with_secrets=with_secrets))
    if target is not None:
        write_atomic(target, text, secret=with_secrets)
    render.exported(inv.out, text, file if target is not None else None, with_secrets)


@app.command("apply")
def apply(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A document written by `mailadmin export` ('-': stdin).", show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing (no key is generated).")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete custom roles, packages, operator roles, operators and team members "
                                                        "the file lacks (refused while in use).")] = False,
    output: ReportOutput = None,
    quiet: Quiet = False,
) -> None:
    """Make the store match a document, in one transaction: creates, changes (field: before ->
    after) and, with --prune, deletions. Applying the same file twice changes nothing.

    Example: mailadmin apply state.toml --dry-run
    """
    from mailadmin.render import state as render
    from mailadmin.services import state_apply

    inv = current()
    fmt = inv.format(output, REPORT)
    inv.admit()  # who may apply is settled before the file is read: a refusal says nothing about it
    text = read_text(file, inv)
    source = "stdin" if file == "-" else file
    doc = state_apply.read_document(text, source)  # a bad file fails before the store is opened
    if dry_run:
        with inv.read() as op:
            plan = state_apply.plan(op, doc, text, source, prune=prune, dry_run=True)
    else:
        with inv.write() as op:
            plan = state_apply.plan(op, doc, text, source, prune=prune, dry_run=False)
            state_apply.execute(op, plan)
    render.plan(inv.out, plan, fmt)


def _may_see_secrets(op) -> None:
    from mailadmin.services import operators

    if operators.any_registered(op.session):
        login = operators.runner(op)
        operators.refuse(operators.authority(op.session, login), login, operators.MANAGE, "export --with-secrets")


def state_file(raw: str):
    from pathlib import Path

    from mailadmin.errors import InvalidInput

    path = Path(raw)
    if path.is_dir():
        raise InvalidInput(f"{raw} is a directory; export writes one file", hint="name a file, e.g. state.toml")
    if not path.parent.is_dir():
        raise InvalidInput(f"cannot write {raw}: no directory {path.parent}")
    return path


def write_atomic(path, text: str, *, secret: bool) -> None:
    """Write next to `path` and rename over it, so a reader never sees half a document; mode
    0600 when the document holds private keys, else what the umask gives a new file."""
    import os
    import tempfile

    from mailadmin.errors import InvalidInput

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}", hint="choose a FILE this user may write") from None
    try:
        if not secret:
            mask = os.umask(0)
            os.umask(mask)
            os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InvalidInput(f"cannot write {path}: {exc.strerror}", hint="choose a FILE this user may write") from None


def read_text(file: str, inv) -> str:
    from mailadmin.errors import InvalidInput

    try:
        if file == "-":
            return inv.stdin.read()
        with open(file, encoding="utf-8") as f:
            return f.read()
    except IsADirectoryError:
        raise InvalidInput(f"{file} is a directory, not a document") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
