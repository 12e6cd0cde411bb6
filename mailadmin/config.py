"""The TOML config file: where it lives, what keys it may hold, reading and writing it.

Read with tomllib, written with tomli-w. Paths come from platformdirs, which honours
XDG_CONFIG_HOME and XDG_DATA_HOME. No store imports here: `config` commands stay light.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

from mailadmin.errors import ConfigError, InvalidInput

APP_NAME = "mailadmin"
OUTPUT_FORMATS = ("table", "json", "csv")


def _output_format(value: str) -> str:
    if value not in OUTPUT_FORMATS:
        raise InvalidInput(f"output must be one of {', '.join(OUTPUT_FORMATS)}, not {value!r}")
    return value


def _hostname(value: str) -> str:
    value = value.strip().rstrip(".").lower()
    labels = value.split(".")
    if len(labels) < 2 or not all(label and len(label) <= 63 for label in labels) or len(value) > 253:
        raise InvalidInput(f"{value!r} is not a host name")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise InvalidInput("value must not be empty")
    return value.strip()


@dataclass(frozen=True)
class Setting:
    key: str
    description: str
    parse: Callable[[str], Any]
    default: Any = None


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("database", "store path or URL (a file path, or postgresql+psycopg://...)", _text),
        Setting("output", "default output format of list and show commands", _output_format, "table"),
        Setting("platform.spf_include", "SPF include domain of the platform", _hostname, "spf.mail.example.net"),
        Setting("platform.return_path_host", "CNAME target of return-path records", _hostname, "bounces.mail.example.net"),
        Setting("platform.tracking_host", "CNAME target of tracking records", _hostname, "track.mail.example.net"),
        Setting("platform.dmarc_rua", "mailbox that receives DMARC aggregate reports", _text, "dmarc@mail.example.net"),
    )
}


def config_path() -> Path:
    """MAILADMIN_CONFIG if set, else config.toml in the user config directory."""
    if env := os.environ.get("MAILADMIN_CONFIG"):
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "mailadmin.db"


@cache
def load() -> dict[str, Any]:
    """The config file as a flat {dotted key: value} dict; {} when there is no file."""
    path = config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}", hint="fix it or `mailadmin config path`") from exc
    flat = _flatten(data)
    for key in flat:
        if key not in SETTINGS:
            raise ConfigError(f"config file {path} has unknown key {key!r}", hint=_suggest(key))
    return flat


def get(key: str) -> Any:
    """A setting's value: the file's if present, else its default."""
    return load().get(key, SETTINGS[key].default)


def effective() -> dict[str, Any]:
    values = load()
    return {key: values.get(key, s.default) for key, s in SETTINGS.items()}


def set_value(key: str, raw: str) -> Any:
    """Validate and write one setting, keeping the rest of the file. Returns the stored value."""
    if key not in SETTINGS:
        raise InvalidInput(f"unknown config key {key!r}", hint=_suggest(key))
    value = SETTINGS[key].parse(raw)
    values = dict(load())
    values[key] = value
    import tomli_w

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(_nest(values)), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a config file
    load.cache_clear()
    return value


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, list(SETTINGS), n=1)
    return f"did you mean {close[0]}?" if close else "known keys: " + ", ".join(SETTINGS)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{full}."))
        else:
            out[full] = value
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
