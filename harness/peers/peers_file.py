"""``peers.toml``: users describe their own peers (servers and clients) once, by name.

Why a file and not more flags: a project that tests its own SSH server in CI has a build command,
a port, credentials and maybe a few things the probe cannot find out (subsystems, auth methods
when our client cannot finish a key exchange with it). One checked-in file holds that; the
names it defines work wherever a built-in peer id does (``--peer NAME``, ``--client-peer NAME``).

Format (docs/TARGETS.md)::

    [server.mysshd]                     # a peer id: letters, digits, . _ + -
    command = "./build/mysshd -p {port} -k {workdir}/host_key"   # or url = "ssh://...", or image
    # image = "myorg/mysshd:1.0"        # run with host networking; HARNESS_PORT in its environment
    user = "tester"
    password = "secret"                 # and/or identity = "keys/id_ed25519" (or a list; relative to this file)
    known_hosts = "keys/known_hosts"    # optional: else the host key seen at the probe is trusted
    port = 2222                         # optional: default a free loopback port, given as {port}
    start_timeout = 20                  # optional: seconds until it must answer (default 10)
    [server.mysshd.capabilities]        # optional: probed where possible, declared otherwise
    auth_methods = ["publickey", "password"]
    subsystems = ["sftp"]
    kex = ["curve25519-sha256"]         # also host_key, cipher, mac, compression

    [client.mycli]
    command = "./build/mycli -p {port} -i {key} {user}@{host} {command}"
    user = "sshharness"                 # optional

Validation is strict: any unknown table or key, wrong type, missing or conflicting field is one
:class:`PeersFileError` naming the file, the table and the problem.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.peers.base import PeerError
from harness.peers.custom import PLACEHOLDERS, ClientCommandError, parse_template
from harness.peers.target import ALGORITHM_CAPABILITIES, TargetError, TargetUrl, check_peer_name, parse_target_url

DEFAULT_FILE = "peers.toml"
# Seconds a started server gets to answer with a KEXINIT (most start in well under one).
DEFAULT_START_TIMEOUT = 10.0
MAX_START_TIMEOUT = 600.0
SERVER_PLACEHOLDERS = ("port", "host", "workdir")
_SERVER_KEYS = {"url", "command", "image", "port", "user", "password", "identity", "known_hosts",
                "start_timeout", "capabilities"}  # fmt: skip
_CLIENT_KEYS = {"command", "user", "capabilities"}
_CAPABILITIES = {*ALGORITHM_CAPABILITIES, "auth_methods", "subsystems"}
AUTH_METHODS = ("publickey", "password", "keyboard-interactive", "none", "hostbased")


class PeersFileError(PeerError):
    """A bad peers file: the message names the file and the problem."""


@dataclass
class ServerSpec:
    """One server peer of the user's: running already (url) or started by us (command, image)."""

    name: str
    kind: str  # "url" | "command" | "image"
    origin: str  # where it was described: "--target" or "peers.toml [server.x]"
    url: TargetUrl | None = None
    command: list[str] = field(default_factory=list)
    image: str = ""
    port: int = 0
    identities: list[Path] = field(default_factory=list)
    known_hosts: Path | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT
    capabilities: dict[str, list[str]] = field(default_factory=dict)
    base_dir: Path = Path()


@dataclass
class ClientSpec:
    name: str
    tokens: list[str]
    origin: str
    user: str = ""
    capabilities: dict[str, list[str]] = field(default_factory=dict)
    base_dir: Path = Path()


@dataclass
class PeersFile:
    path: Path | None
    servers: dict[str, ServerSpec] = field(default_factory=dict)
    clients: dict[str, ClientSpec] = field(default_factory=dict)


def _string(table: dict[str, Any], key: str, where: str, default: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (key in table and not value.strip()):
        raise PeersFileError(f"{where}: {key} must be a non-empty string")
    return value


def _path(table: dict[str, Any], key: str, where: str, base: Path) -> Path | None:
    if key not in table:
        return None
    path = Path(_string(table, key, where)).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise PeersFileError(f"{where}: {key} {path}: no such file")
    return path


def _paths(table: dict[str, Any], key: str, where: str, base: Path) -> list[Path]:
    """One file or a list of files (identity = "keys/id_ed25519" or ["keys/id_ed25519", "keys/id_rsa"])."""
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PeersFileError(f"{where}: {key} must be a file name or a list of file names")
    return [p for v in value if (p := _path({key: v}, key, where, base)) is not None]


def _capabilities(table: dict[str, Any], where: str) -> dict[str, list[str]]:
    caps = table.get("capabilities", {})
    where = f"{where}.capabilities"
    if not isinstance(caps, dict):
        raise PeersFileError(f"{where}: must be a table")
    unknown = set(caps) - _CAPABILITIES
    if unknown:
        raise PeersFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_CAPABILITIES)}")
    for key, value in caps.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PeersFileError(f"{where}: {key} must be a list of names, e.g. {key} = [\"...\"]")
    bad = [m for m in caps.get("auth_methods", ()) if m not in AUTH_METHODS]
    if bad:
        raise PeersFileError(f"{where}: unknown auth method(s) {bad}; known: {list(AUTH_METHODS)}")
    return {k: list(v) for k, v in caps.items()}


def _template(value: Any, where: str, placeholders: Sequence[str], required: Sequence[str]) -> list[str]:
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) for v in value):
            raise PeersFileError(f"{where}: command must be a string or a non-empty list of strings")
    elif not isinstance(value, str):
        raise PeersFileError(f"{where}: command must be a string or a list of strings")
    try:
        return parse_template(value, where, placeholders, required)
    except ClientCommandError as exc:
        raise PeersFileError(str(exc)) from None


def _server(name: str, table: dict[str, Any], where: str, base: Path) -> ServerSpec:
    unknown = set(table) - _SERVER_KEYS
    if unknown:
        raise PeersFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SERVER_KEYS)}")
    given = {k for k in ("url", "command", "image") if k in table}
    kinds = {frozenset({"url"}): "url", frozenset({"command"}): "command", frozenset({"image"}): "image",
             frozenset({"image", "command"}): "image"}  # fmt: skip
    kind = kinds.get(frozenset(given), "")
    if not kind:
        raise PeersFileError(f"{where}: give url (a running server), command (started by the harness) or image "
                             f"(a container, command = its arguments); found {sorted(given) or 'none'}")  # fmt: skip
    spec = ServerSpec(name, kind, f"{where}", base_dir=base, capabilities=_capabilities(table, where))
    spec.identities = _paths(table, "identity", where, base)
    spec.known_hosts = _path(table, "known_hosts", where, base)
    timeout = table.get("start_timeout", DEFAULT_START_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_START_TIMEOUT:
        raise PeersFileError(f"{where}: start_timeout must be seconds in (0, {MAX_START_TIMEOUT:.0f}]")
    spec.start_timeout = float(timeout)
    port = table.get("port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise PeersFileError(f"{where}: port must be a whole number 0-65535 (0: a free port)")
    spec.port = port
    if kind == "url":
        if {"user", "password", "port"} & set(table):
            raise PeersFileError(f"{where}: with url, put user, password and port in the URL")
        try:
            spec.url = parse_target_url(_string(table, "url", where))
        except TargetError as exc:
            raise PeersFileError(f"{where}: {exc}") from None
        return spec
    user = _string(table, "user", where, "")
    if not user:
        raise PeersFileError(f"{where}: user is required (the account scenarios log in as)")
    password = _string(table, "password", where, "") if "password" in table else ""
    if not password and not spec.identities:
        raise PeersFileError(f"{where}: give password and/or identity (a private key file) for {user}")
    spec.url = TargetUrl(user, password, "127.0.0.1", port)
    if kind == "command":
        spec.command = _template(table["command"], where, SERVER_PLACEHOLDERS, () if port else ("port",))
    else:
        spec.image = _string(table, "image", where)
        if "command" in table:
            spec.command = _template(table["command"], where, SERVER_PLACEHOLDERS, ())
    return spec


def _client(name: str, table: dict[str, Any], where: str, base: Path) -> ClientSpec:
    unknown = set(table) - _CLIENT_KEYS
    if unknown:
        raise PeersFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_CLIENT_KEYS)}")
    if "command" not in table:
        raise PeersFileError(f"{where}: command is required, e.g. command = \"mycli -p {{port}} {{user}}@{{host}}\"")
    tokens = _template(table["command"], where, PLACEHOLDERS, ("port",))
    return ClientSpec(name, tokens, where, _string(table, "user", where, "") if "user" in table else "",
                      _capabilities(table, where), base)  # fmt: skip


def parse_peers_file(text: str, path: Path, builtin: Sequence[str] = ()) -> PeersFile:
    """Parse and check a peers file's text (``path`` names it in errors and anchors relative paths)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PeersFileError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"server", "client"}
    if unknown:
        raise PeersFileError(f"{path}: unknown table(s) {sorted(unknown)}; a peers file has [server.NAME] "
                             "and [client.NAME] tables")  # fmt: skip
    out = PeersFile(path)
    base = path.parent.resolve()
    for role in ("server", "client"):
        tables = data.get(role, {})
        if not isinstance(tables, dict):
            raise PeersFileError(f"{path}: {role} must hold tables, e.g. [{role}.myname]")
        for name, table in tables.items():
            where = f"{path}: [{role}.{name}]"
            if not isinstance(table, dict):
                raise PeersFileError(f"{where}: must be a table")
            try:
                check_peer_name(name, builtin)
            except TargetError as exc:
                raise PeersFileError(f"{where}: {exc}") from None
            if name in out.servers or name in out.clients:
                raise PeersFileError(f"{where}: the name {name} is used twice")
            if role == "server":
                out.servers[name] = _server(name, table, where, base)
            else:
                out.clients[name] = _client(name, table, where, base)
    if not out.servers and not out.clients:
        raise PeersFileError(f"{path}: defines no peers; add a [server.NAME] or [client.NAME] table")
    return out


def load_peers_file(path: Path, builtin: Sequence[str] = ()) -> PeersFile:
    try:
        text = path.read_text()
    except OSError as exc:
        raise PeersFileError(f"{path}: cannot read: {exc}") from None
    return parse_peers_file(text, path, builtin)
