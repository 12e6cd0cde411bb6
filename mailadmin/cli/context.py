"""The invocation: everything one run of a command needs, built per run and dropped after it.

`app.invoke()` makes one for every command line (a batch makes one per line), so nothing a
command reads or opens outlives it: the streams it writes to, the environment, the config file,
the store and its engine, the consoles, the clock (httpie's `Environment`, gh's `IOStreams`).
Commands reach it with `current()`, through Click's context stack, never through a module global.
Kept light: the store, Rich and the config file are loaded only when a command asks for them.
"""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, TextIO

if TYPE_CHECKING:
    from mailadmin.config import Config
    from mailadmin.operation import Actor, Operation
    from mailadmin.render.output import Format, Formats, Output
    from mailadmin.store import Store
    from mailadmin.timeutil import Clock


@dataclass
class Shared:
    """What the lines of one batch share, held by the batch and dropped with it (never
    process-wide): the store and its engine (opened by the first line that needs it), the config
    file, whether the schema was found current, and the operator check's answer for reads.

    `atomic`: every line's transactions join one write transaction of the store (the batch opens
    it with `Store.one_transaction()`), so nothing a line does is committed before the batch is."""

    db: str | None = None  # the batch's --db (or MAILADMIN_DB): every line's store
    as_user: str | None = None  # the batch's --as: every line runs as this client user
    atomic: bool = False
    opened: "Callable[[Store], None] | None" = field(default=None, repr=False)  # told when the store opens
    _config: "Config | None" = field(default=None, repr=False)
    _store: "Store | None" = field(default=None, repr=False)
    _schema_checked: bool = field(default=False, repr=False)
    # the operator check's answer per OS login, for read transactions only: every write checks
    # again inside its own transaction (under the write lock), and clears this after it
    authority: dict = field(default_factory=dict, repr=False)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None


@dataclass
class Invocation:
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    db: str | None = None  # --db, else MAILADMIN_DB (the root callback sets it)
    as_user: str | None = None  # --as, else MAILADMIN_AS: the client user every command runs as
    _config: "Config | None" = field(default=None, repr=False)
    _store: "Store | None" = field(default=None, repr=False)
    _out: "Output | None" = field(default=None, repr=False)
    _schema_checked: bool = field(default=False, repr=False)
    _as: tuple[int, str] | None = field(default=None, repr=False)  # (id, email) of the --as user, once found
    committed: bool = False  # a write transaction of this invocation has committed
    interrupted: bool = False  # Ctrl-C arrived
    shared: Shared | None = field(default=None, repr=False)  # a batch line: what the batch shares

    @property
    def _holder(self) -> "Invocation | Shared":
        """Where the config and the store live: this invocation, or the batch it is a line of."""
        return self if self.shared is None else self.shared

    # -- configuration -------------------------------------------------------------------------
    @property
    def config(self) -> "Config":
        holder = self._holder
        if holder._config is None:
            from mailadmin import config

            holder._config = config.load(config.config_path(self.env))
        return holder._config

    @property
    def clock(self) -> "Clock":
        from mailadmin.timeutil import clock

        return clock(self.env)

    # -- the store -----------------------------------------------------------------------------
    def store(self, *, check_schema: bool = True, create: bool = False) -> "Store":
        """This invocation's store, opened on first use; the schema is checked unless asked not to.
        Only `init` passes `create`: any other command on a missing SQLite file is exit 78, and a
        mistyped --db leaves nothing behind."""
        holder = self._holder
        if holder._store is None:
            from mailadmin.store import open_store
            from mailadmin.store.engine import busy_timeout_ms

            timeout = busy_timeout_ms(self.env)  # a bad setting fails every command, reads too
            db = self.db if self.shared is None else self.shared.db
            holder._store = open_store(db, configured=self.config.get("database"), create=create,
                                       check_schema=False, busy_timeout_ms=timeout)
            if self.shared is not None and self.shared.opened is not None:
                self.shared.opened(holder._store)
        if check_schema and not holder._schema_checked:
            from mailadmin.store.schema import require_current

            require_current(holder._store)
            holder._schema_checked = True
        return holder._store

    @contextmanager
    def write(self) -> Iterator["Operation"]:
        """A write transaction as an Operation: the store's write lock, the actor, the time."""
        try:
            with self.store().write() as session:
                yield self._operation(session, writing=True)
        finally:
            if self.shared is not None:
                self.shared.authority.clear()  # the write may have changed who may do what
        if self.shared is None or not self.shared.atomic:
            self.committed = True  # from here on, a failure to print never makes this a failure

    @contextmanager
    def read(self) -> Iterator["Operation"]:
        with self.store().read() as session:
            yield self._operation(session, writing=False)

    def _operation(self, session, *, writing: bool) -> "Operation":
        from mailadmin.needs import need_of
        from mailadmin.operation import Operation

        command = self.command()
        need = need_of(command).for_writing(writing)
        actor = self._admitted(session, need, command, writing)
        # the time is read once the transaction holds its lock, so a change that waited for
        # another writer is stamped with when it happened, not when it was asked for
        return Operation(session, actor, self.clock(), need)

    def _admitted(self, session, need, command: str, writing: bool = False) -> "Actor":
        """Who this command acts as, once it is allowed to: the operator running it (checked
        against its operator role once any operator is registered), or the client user named by
        --as (the operator then needs users.login_as, and the command must be one a client user
        may run; services check the rest on the account or domain they act on)."""
        from mailadmin.errors import PermissionDenied
        from mailadmin.needs import OPERATORS
        from mailadmin.operation import Actor
        from mailadmin.services import operators

        operator = self.actor()
        if (registered := self._registered(session, writing, operator.name)) is not None:
            authority = registered[0]
            operators.refuse(authority, operator.name, need.admin, command)
            if self.as_user is not None:
                operators.refuse(authority, operator.name, "users.login_as", f"{command} --as")
        if self.as_user is None:
            return operator
        if need.client == OPERATORS:
            raise PermissionDenied(f"`mailadmin {command}` is an operator action; a client user (--as) never holds it")
        if self._as is None:  # looked up once: every transaction of this invocation acts as the same user
            from mailadmin.operation import Operation
            from mailadmin.refs import parse_ref
            from mailadmin.services.accounts import find_user

            user = find_user(Operation(session, operator, self.clock()), parse_ref(self.as_user))
            self._as = (user.id, user.email)
        return Actor.user(*self._as, operator)

    def _registered(self, session, writing: bool, login: str) -> "tuple | None":
        """None in single-operator mode (no operator registered), else (the login's authority or
        None,). A batch line that only reads reuses the batch's last answer (one check per
        batch instead of one per line); a write always checks inside its own transaction."""
        from mailadmin.services import operators

        cache = self.shared.authority if self.shared is not None else None
        if cache is not None and not writing and login in cache:
            return cache[login]
        answer = (operators.authority(session, login),) if operators.any_registered(session) else None
        if cache is not None and not writing:
            cache[login] = answer
        return answer

    def actor(self) -> "Actor":
        """The operator running the command: the OS user (as this invocation's environment names
        it), recorded in every audit entry."""
        from mailadmin.operation import Actor

        login = self.env.get("LOGNAME") or self.env.get("USER") or self.env.get("USERNAME")
        if not login:
            try:
                login = getpass.getuser()
            except (KeyError, OSError):
                login = f"uid:{os.getuid()}"
        return Actor.operator(login)

    def command(self) -> str:
        """The running command's words after `mailadmin` ("users invite"), as needs.py names it."""
        from typer._click.globals import get_current_context

        ctx = get_current_context(silent=True)
        words: list[str] = []
        while ctx is not None and ctx.parent is not None:
            words.append(ctx.info_name or "")
            ctx = ctx.parent
        return " ".join(reversed(words))

    def admit(self) -> None:
        """The operator check for commands that open the store without an Operation (init, db):
        once operators are registered, the runner must be one holding what the command needs.
        Skipped on a store whose schema predates operators: none can be registered there."""
        from mailadmin.store.schema import HEAD_REVISION, current_revision

        store = self.store(check_schema=False)
        if current_revision(store) != HEAD_REVISION:
            return
        with store.read() as session:
            self._operation(session, writing=False)

    # -- output --------------------------------------------------------------------------------
    @property
    def out(self) -> "Output":
        if self._out is None:
            from mailadmin.render.output import Output

            self._out = Output(self.stdout, self.stderr, self.env)
        return self._out

    def format(self, value: "Format | None", formats: "Formats") -> "Format":
        """-o if given (already checked against `formats` when parsed), else the config file's
        `output` where this command offers it, else table."""
        if value is not None:
            return value
        from mailadmin.render.output import Format

        configured = self.config.get("output")
        return Format(configured) if configured in formats.names else Format.table

    def listing(self, fields: str | None = None, no_headers: bool = False, sort: str | None = None,
                limit: int | None = None, offset: int = 0, *, store_pages: bool = False) -> tuple[int | None, int]:
        """Set how this invocation's lists print, and say which page to ask the store for. A list
        the store pages (`store_pages`, a query with LIMIT/OFFSET) is paged there unless --sort asks
        for another order: then, like every small list, it is fetched whole, sorted and paged here."""
        from mailadmin.render.output import Listing

        chosen = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields is not None else ()
        if fields is not None and not chosen:
            from mailadmin.errors import InvalidInput

            raise InvalidInput("--fields needs at least one field name")
        limit = limit or None
        if sort or not store_pages:
            self.out.listing = Listing(chosen, no_headers, sort, offset, limit)
            return None, 0
        self.out.listing = Listing(chosen, no_headers)
        return limit, offset

    def when(self, text: str | None, *, future: bool = False):
        """A --since/--until value as a UTC time, spans counted from this invocation's clock."""
        if text is None:
            return None
        from mailadmin.timeutil import parse_when

        return parse_when(text, now=self.clock(), future=future)

    # -- people --------------------------------------------------------------------------------
    def can_prompt(self) -> bool:
        """A person is there to answer (gh's CanPrompt): stderr is a terminal, and so is stdin,
        or stdin carries data and the terminal itself (/dev/tty) can be asked instead."""
        return _isatty(self.stderr) and (_isatty(self.stdin) or _has_terminal())

    def confirm(self, question: str, yes: bool) -> None:
        """Ask a person before a destructive change; a script without --yes gets exit 2 at once.
        When stdin carries the data (`... | mailadmin users suspend -`), the answer is read from the
        terminal itself, never from the data stream (what git, ssh and sudo do)."""
        from mailadmin.errors import Failure, InvalidInput

        if yes:
            return
        if not self.can_prompt():
            raise InvalidInput("this change needs confirmation and no terminal is attached", hint="add --yes")
        if _isatty(self.stdin):
            agreed = _yes(self.ask(f"{question} [y/N]", default=""))
        else:
            agreed = _ask_terminal(f"{question} [y/N]: ")
        if not agreed:
            raise Failure("cancelled; nothing changed")

    def ask(self, prompt: str, *, default: str | None = None) -> str:
        """One answer typed at the terminal (stdin is one: the wizard, a confirmation). Without a
        default an empty answer asks again; Ctrl-D, like Ctrl-C, abandons the command."""
        while True:
            self.stderr.write(f"{prompt}: ")
            self.stderr.flush()
            line = _read_line(fd) if (fd := _fileno(self.stdin)) is not None else (self.stdin.readline() or None)
            if line is None:
                raise KeyboardInterrupt
            if answer := line.strip():
                return answer
            if default is not None:
                return default

    def close(self) -> None:
        if self.shared is None and self._store is not None:  # a batch closes the store it shares
            self._store.dispose()
            self._store = None


def _terminal() -> int | None:
    """A descriptor of this process's controlling terminal, or None (cron, CI, setsid)."""
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None


def _has_terminal() -> bool:
    fd = _terminal()
    if fd is None:
        return False
    os.close(fd)
    return True


def _ask_terminal(prompt: str) -> bool:
    """Ask on the terminal itself and read one line of answer from it (the terminal is in its
    usual line mode, so the person can edit the answer before Enter)."""
    fd = _terminal()
    if fd is None:
        return False
    try:
        os.write(fd, prompt.encode())
        answer = _read_line(fd)  # Ctrl-D: no answer is no
    finally:
        os.close(fd)
    return _yes(answer or "")


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # text in memory (a test, batch mode)
        return None


def _yes(answer: str) -> bool:
    return answer.strip().lower() in ("y", "yes")


def _read_line(fd: int) -> str | None:
    """One line from a terminal in its usual line mode (the person can edit it before Enter), or
    None at the end of input (Ctrl-D). It waits in short select() slices, never in one blocking
    read(): CPython runs a signal handler between bytecodes, so a Ctrl-C landing just before a
    blocking read would be acted on only after Enter (seen under load: tests/cli/test_prompts.py)."""
    import select

    data = b""
    while not data.endswith(b"\n"):
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        chunk = os.read(fd, 1024)
        if not chunk:  # Ctrl-D: on an empty line the end; after some text it sends that text
            return data.decode(errors="replace") if data else None
        data += chunk
    return data.decode(errors="replace")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def current() -> Invocation:
    """The invocation of the command running now (set by `app.invoke` as the Click context's obj)."""
    from typer._click.globals import get_current_context

    return get_current_context().find_root().obj
