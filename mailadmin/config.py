"""The TOML config file: where it lives, what keys it may hold, reading and writing it.

Read with tomllib, written with tomli-w. Paths come from platformdirs, which honours
XDG_CONFIG_HOME and XDG_DATA_HOME. No store imports here: `config` commands stay light.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from mailadmin.errors import ConfigError, InvalidInput

APP_NAME = "mailadmin"
OUTPUT_FORMATS = ("table", "json", "csv")


def _output_format(value: str) -> str:
    if value not in OUTPUT_FORMATS:
        raise InvalidInput(f"output must be one of {', '.join(OUTPUT_FORMATS)}, not {value!r}")
    return value


def _hostname(value: str) -> str:
    from mailadmin.refs import normalise_domain

    try:
        return normalise_domain(value)  # labels of letters, digits and hyphens; valid punycode
    except InvalidInput:
        raise InvalidInput(f"{value!r} is not a host name") from None


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


DMARC_POLICIES = ("none", "quarantine", "reject")


def _dmarc_policy(value: str) -> str:
    policy = value.strip(" \t").lower()
    if policy not in DMARC_POLICIES:
        raise InvalidInput(f"a DMARC policy is one of {', '.join(DMARC_POLICIES)}, not {value!r}")
    return policy


def _mailbox(value: str) -> str:
    """An address for DMARC reports (`mailto:` optional): local@host, the host a host name."""
    text = value.strip(" \t")
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    local, at, host = text.rpartition("@")
    if not at or not local or any(ch in local for ch in ' ,;!"<>\\') or any(ord(ch) < 33 or ord(ch) > 126 for ch in local):
        raise InvalidInput(f"{value!r} is not a mailbox like dmarc@example.net")
    try:
        return f"{local}@{_hostname(host)}"
    except InvalidInput:
        raise InvalidInput(f"{value!r} is not a mailbox like dmarc@example.net") from None


def _label(value: str) -> str:
    """The label(s) put before a customer's domain (`bounces` -> bounces.example.com)."""
    text = value.strip(" \t").lower().removesuffix(".")
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*", text) or len(text) > 100:
        raise InvalidInput(f"{value!r} is not a DNS label (letters, digits and hyphens, like bounces)")
    return text


def parse_resolver(value: str) -> tuple[str, int]:
    """A DNS server as `IP`, `IP:PORT`, `IPv6` or `[IPv6]:PORT`: (address, port). A name is refused:
    finding the resolver's own address would need a resolver."""
    import ipaddress

    text = value.strip(" \t")
    host, port_text = text, None
    if text.startswith("["):
        host, close, rest = text[1:].partition("]")
        if not close or (rest and not rest.startswith(":")):
            raise InvalidInput(f"{value!r} is not a DNS server address: IP, IP:PORT or [IPv6]:PORT")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a DNS server address: IP, IP:PORT or [IPv6]:PORT (a name is not one)") from None
    port = 53
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise InvalidInput(f"{value!r} has a bad port {port_text!r}: 1 to 65535")
        port = int(port_text)
    return str(address), port


def _resolver(value: str) -> str:
    address, port = parse_resolver(value)
    return address if port == 53 else (f"[{address}]:{port}" if ":" in address else f"{address}:{port}")


# The platform's host names have no default on purpose: a default would print DNS records that
# point customers' domains at someone else's platform. A command that needs one unset is exit 78.
SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("database", "store path or URL (a file path, or postgresql+psycopg://...)", _text),
        Setting("output", "default output format of list and show commands", _output_format, "table"),
        Setting("platform.spf_include", "SPF include domain of the platform (required by domains dns/verify)", _hostname),
        Setting("platform.return_path_host", "CNAME target of return-path records (required by domains dns/verify)", _hostname),
        Setting("platform.tracking_host", "CNAME target of tracking records (required by domains dns/verify)", _hostname),
        Setting("platform.return_path_label", "label of a domain's return-path CNAME (bounces.DOMAIN)", _label, "bounces"),
        Setting("platform.tracking_label", "label of a domain's tracking CNAME (track.DOMAIN)", _label, "track"),
        Setting("platform.dmarc_policy", "p= of the DMARC record domains dns suggests: none, quarantine or reject", _dmarc_policy, "none"),
        Setting("platform.dmarc_rua", "mailbox that receives DMARC aggregate reports (optional: no rua= without it)", _mailbox),
        Setting("platform.resolver", "DNS server domains verify asks, IP[:PORT] (default: the system's resolv.conf)", _resolver),
    )
}


def config_path(env: Mapping[str, str]) -> Path:
    """MAILADMIN_CONFIG if set, else config.toml in the user config directory."""
    if value := env.get("MAILADMIN_CONFIG"):
        return Path(value).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "mailadmin.db"


def store_url(db: str | None, configured: str | None) -> str:
    """Where the store is: --db (or MAILADMIN_DB), then the config's `database`, then the default
    file, as a URL. Light on purpose: a Tab press asks it too. Finding never creates anything."""
    value = db or configured
    if not value:
        return f"sqlite:///{default_database_path()}"
    if "://" in value:
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise InvalidInput(f"unsupported store URL {value.split('://')[0]}://", hint="use a file path or postgresql+psycopg://")
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for a server, or SQLite in memory)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url.removeprefix("sqlite:///"))


@dataclass(frozen=True)
class Config:
    """The config file of one invocation: read once when first asked for, never cached beyond it."""

    path: Path
    stored: dict[str, Any]  # what the file holds, as {dotted key: value}

    def get(self, key: str) -> Any:
        """A setting's value: the file's if present, else its default."""
        return self.stored.get(key, SETTINGS[key].default)

    def require(self, *keys: str) -> dict[str, Any]:
        """The values of settings a command cannot do without; any unset is exit 78 naming it."""
        missing = [key for key in keys if self.get(key) in (None, "")]
        if missing:
            what = f"config key {missing[0]} is not set" if len(missing) == 1 else f"config keys {', '.join(missing)} are not set"
            raise ConfigError(f"{what} (the platform's host names have no default)",
                              hint=f"`mailadmin config set {missing[0]} VALUE`")
        return {key: self.get(key) for key in keys}

    def effective(self) -> dict[str, Any]:
        return {key: self.get(key) for key in SETTINGS}


def load(path: Path) -> Config:
    """The config file at `path`; an empty config when there is none."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return Config(path, {})
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}", hint="fix it or `mailadmin config path`") from exc
    flat = _flatten(data)
    for key, value in flat.items():
        if key not in SETTINGS:
            raise ConfigError(f"config file {path} has unknown key {key!r}", hint=_suggest(key))
        # what `config set` would accept, and nothing else: a hand-edited file is checked too
        try:
            if not isinstance(value, str):
                raise InvalidInput(f"it must be a string, not {type(value).__name__} {value!r}")
            flat[key] = SETTINGS[key].parse(value)
        except InvalidInput as exc:
            raise ConfigError(f"config file {path}: {key}: {exc.message}", hint=f"`mailadmin config set {key} VALUE` writes a valid one") from None
    return Config(path, flat)


def set_value(config: Config, key: str, raw: str) -> Any:
    """Validate and write one setting, keeping the rest of the file. Returns the stored value."""
    if key not in SETTINGS:
        raise InvalidInput(f"unknown config key {key!r}", hint=_suggest(key))
    value = SETTINGS[key].parse(raw)
    values = {**config.stored, key: value}
    import tomli_w

    path = config.path
    tmp = path.with_suffix(".toml.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # 0600 from the first byte: the file may hold a database URL with its password
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(tomli_w.dumps(_nest(values)))
        tmp.replace(path)  # atomic: a crash never leaves half a config file
    except OSError as exc:
        raise ConfigError(f"cannot write the config file {path}: {exc.strerror}") from None
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
