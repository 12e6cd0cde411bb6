"""Answering a Tab press from the generated table, with the standard library alone.

A shell calls `mailadmin` on every Tab press, so completion inherits start-up cost: Typer builds
each parameter of a group through pydantic, about 0.3 s before the first candidate. Here the
command tree is `completion.json` (made by `python -m mailadmin.cli.reference --write` from the
commands' own declarations, and kept current by a test); names in the store are read with
sqlite3 or psycopg. The shell scripts in completions/ speak Typer's protocol, answered unchanged.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Mapping

SPEC = Path(__file__).with_name("completion.json")
STORE_LIMIT = 200  # names read from the store per Tab press; beyond, the list says it was cut
MORE = "(more: type more letters)"


def complete(env: Mapping[str, str]) -> tuple[int, str]:
    """(exit code, text to print) for the shell named by `_MAILADMIN_COMPLETE`."""
    instruction = env.get("_MAILADMIN_COMPLETE", "")
    shell = instruction.removeprefix("complete_")
    if shell == "bash":
        words = _split(env.get("COMP_WORDS", ""))
        cword = int(env.get("COMP_CWORD", "0") or 0)
        args, incomplete = words[1:cword], (words[cword] if cword < len(words) else "")
    elif shell in ("zsh", "fish"):
        line = env.get("_TYPER_COMPLETE_ARGS", "")
        words = _split(line)[1:]
        if words and not line.endswith(" "):
            args, incomplete = words[:-1], words[-1]
        else:
            args, incomplete = words, ""
    else:
        return 1, f"completion for {instruction!r} is not supported; use the scripts in completions/"
    items = candidates(json.loads(SPEC.read_text(encoding="utf-8")), args, incomplete, env)
    if shell == "bash":
        return 0, "\n".join(value for value, _help in items)
    if shell == "zsh":
        if not items:
            return 0, "_files"
        return 0, "_arguments '*: :((" + "\n".join(_zsh(v, h) for v, h in items) + "))'"
    if env.get("_TYPER_COMPLETE_FISH_ACTION") == "is-args":
        return (0 if items else 1), ""
    return 0, "\n".join(f"{v}\t{' '.join(h.split())}" if h else v for v, h in items)


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:  # an open quote while typing
        return shlex.split(line + '"') if line.count('"') % 2 else line.split()


def _zsh(value: str, help_text: str) -> str:
    def esc(s: str) -> str:
        return s.replace('"', '""').replace("'", "''").replace("$", "\\$").replace("`", "\\`").replace(":", r"\\:")

    return f'"{esc(value)}":"{esc(help_text)}"' if help_text else f'"{esc(value)}"'


def candidates(spec: dict[str, Any], args: list[str], incomplete: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(value, help) pairs for the word being typed after `args`."""
    node, path, db = spec, [], None
    positional: list[str] = []
    pending: dict[str, Any] | None = None  # the option whose value comes next
    for word in args:
        if pending is not None:
            if pending.get("name") == "--db":
                db = word
            pending = None
            continue
        if word.startswith("-") and word != "-":
            name, _, value = word.partition("=")
            option = node.get("options", {}).get(name)
            if name == "--db" and value:
                db = value
            elif option and not option["flag"] and not value:
                pending = {**option, "name": name}
            continue
        if "commands" in node:
            if word not in node["commands"]:
                return []  # not a command of ours: nothing sensible to offer
            node, path = node["commands"][word], [*path, word]
        else:
            positional.append(word)
    env = {**env, **({"MAILADMIN_DB": db} if db else {})}
    if pending is not None:
        return _values(pending, incomplete, env)
    if incomplete.startswith("-"):
        if "=" in incomplete:
            name, typed = incomplete.split("=", 1)
            option = node.get("options", {}).get(name)
            return [(f"{name}={v}", h) for v, h in _values(option, typed, env)] if option and not option["flag"] else []
        return [(name, o.get("help", "")) for name, o in node.get("options", {}).items() if name.startswith(incomplete)]
    if "commands" in node:
        return [(name, c.get("help", "")) for name, c in node["commands"].items() if name.startswith(incomplete)]
    slots = node.get("args", [])
    if not slots:
        return []
    slot = slots[min(len(positional), len(slots) - 1)] if slots[-1].get("many") or len(positional) < len(slots) else None
    return _values(slot, incomplete, env) if slot else []


def _values(slot: dict[str, Any] | None, incomplete: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    if not slot or not slot.get("kind"):
        return []
    return [(v, "") for v in values_of(slot["kind"], tuple(slot.get("values", ())), incomplete, env)]


def values_of(kind: str, values: tuple[str, ...], incomplete: str, env: Mapping[str, str]) -> list[str]:
    """The values of one kind that start with what was typed."""
    if kind == "choice":
        return [v for v in values if v.startswith(incomplete)]
    if kind in _FIXED:
        return [v for v in _FIXED[kind]() if v.startswith(incomplete)]
    if kind == "limit_assignments":
        from mailadmin.vocab import LIMIT_NAMES, UNLIMITED

        if "=" in incomplete:
            name = incomplete.split("=", 1)[0]
            return [f"{name}={UNLIMITED}"] if f"{name}={UNLIMITED}".startswith(incomplete) else []
        return [f"{n}=" for n in LIMIT_NAMES if n.startswith(incomplete)]
    if kind in _STORE:
        return _from_store(_STORE[kind], incomplete.lower() if kind in _LOWER_CASE else incomplete, env)
    return []


def _catalog_keys(file: str = "catalog.toml") -> list[str]:
    import tomllib

    with (Path(__file__).parent.parent / file).open("rb") as fh:
        return [p["key"] for p in tomllib.load(fh)["permission"]]


def _vocab(name: str):
    def read() -> tuple[str, ...]:
        from mailadmin import vocab

        return getattr(vocab, name)

    return read


def _config_keys() -> list[str]:
    from mailadmin.config import SETTINGS

    return list(SETTINGS)


_FIXED = {
    "permission_keys": _catalog_keys,
    "admin_keys": lambda: _catalog_keys("admin_catalog.toml"),
    "limit_names": _vocab("LIMIT_NAMES"),
    "statuses": _vocab("STATUSES"),
    "suspension_codes": _vocab("SUSPENSION_CODES"),
    "ledger_kinds": _vocab("LEDGER_KINDS"),
    "config_keys": _config_keys,
}
_STORE = {
    "roles": "SELECT name FROM role WHERE name LIKE %s ORDER BY name LIMIT %d",
    "packages": "SELECT name FROM package WHERE name LIKE %s ORDER BY name LIMIT %d",
    "users": 'SELECT email FROM "user" WHERE email LIKE %s ORDER BY email LIMIT %d',
    "domains": "SELECT name FROM domain WHERE name LIKE %s ORDER BY name LIMIT %d",
    "operators": "SELECT name FROM operator WHERE name LIKE %s ORDER BY name LIMIT %d",
    "operator_roles": "SELECT name FROM operator_role WHERE name LIKE %s ORDER BY name LIMIT %d",
}


_LOWER_CASE = {"users", "domains"}  # stored lower-case; what is typed may not be


def _from_store(sql: str, incomplete: str, env: Mapping[str, str]) -> list[str]:
    """Names from the store, read-only; one more than the cap is asked for, to know it was cut."""
    try:
        from mailadmin import config

        url = config.store_url(env.get("MAILADMIN_DB"), config.load(config.config_path(env)).get("database"))
        like = incomplete.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        query = sql.replace("LIKE %s", "LIKE %s ESCAPE '\\'") % ("%s", STORE_LIMIT + 1)
        path = config.sqlite_path(url)
        if url.startswith("sqlite"):
            import sqlite3

            if path is None or not path.exists():
                return []
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
                names = [row[0] for row in conn.execute(query.replace("%s", "?"), (like,))]
        else:
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2) as conn:
                names = [row[0] for row in conn.execute(query, (like,))]
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the user's shell
        return []
    return names[:STORE_LIMIT] + [MORE] if len(names) > STORE_LIMIT else names
