"""A client under test described by a command line (``--client-command``, peers.toml ``[client.X]``).

Why a template and not a product table: the built-in client peers know how to drive ``ssh``,
``dbclient`` and ``plink``; a user's own client has options nobody can guess. The user writes the
command once, with placeholders, and the harness fills them in for every server-role scenario:

    {port} {host} {user}      where our server listens (loopback) and who logs in
    {key}                     a private key file (Ed25519, OpenSSH format) the client may use
    {known_hosts}             a known_hosts file holding our server's host key for {host}:{port}
    {command}                 the remote command to run ("true")

The template is split like a shell would split it (``shlex``) but no shell runs it; wrap it in
``sh -c '...'`` for pipes or variables. :class:`CommandClient` has the interface of the built-in
``ClientTarget`` (``configure``, ``accept``, ``cleanup``), so the scenario runner cannot tell them apart.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.peers.base import LOOPBACK, PeerError, parse_software_version
from harness.peers.probe import read_first_kexinit

PLACEHOLDERS = ("port", "host", "user", "key", "known_hosts", "command")
REMOTE_COMMAND = "true"
DEFAULT_USER = "sshharness"
# The client must connect within this long after it starts (an SSH client connects in
# milliseconds; a slow JVM start-up takes a second or two).
CONNECT_TIMEOUT = 15.0
# What of the client's output a note on the scenario keeps (the end is where errors are).
OUTPUT_TAIL = 600


class ClientCommandError(PeerError):
    """A client command template that cannot work (unknown placeholder, bad quoting, empty)."""


def parse_template(template: str | Sequence[str], where: str = "--client-command",
                   placeholders: Sequence[str] = PLACEHOLDERS, required: Sequence[str] = ("port",)) -> list[str]:
    """The template as argv tokens, checked: known placeholders only, balanced braces, ``required`` present."""
    if isinstance(template, str):
        try:
            tokens = shlex.split(template)
        except ValueError as exc:
            raise ClientCommandError(f"{where}: cannot split {template!r}: {exc}") from None
    else:
        tokens = list(template)
    if not tokens:
        raise ClientCommandError(f"{where}: the command is empty")
    dummy = {name: "x" for name in placeholders}
    known = ", ".join("{" + p + "}" for p in placeholders)
    for token in tokens:
        try:
            token.format_map(dummy)
        except KeyError as exc:
            raise ClientCommandError(f"{where}: unknown placeholder {{{exc.args[0]}}} in {token!r}; "
                                     f"known: {known}") from None  # fmt: skip
        except (ValueError, IndexError) as exc:
            raise ClientCommandError(f"{where}: bad braces in {token!r} ({exc}); write {{{{ for a literal {{") from None
    for name in required:
        if "{" + name + "}" not in " ".join(tokens):
            raise ClientCommandError(f"{where}: the command must contain {{{name}}}")
    return tokens


def fill(tokens: Sequence[str], values: Mapping[str, str]) -> list[str]:
    return [token.format_map(values) for token in tokens]


@dataclass
class CommandClientInfo:
    """PeerInfo-like description of a client command (what requirements and reports look at)."""

    peer_id: str
    tokens: list[str]
    product: str = "custom"
    version: str = ""
    banner: str = ""
    username: str = DEFAULT_USER
    password: str = "harness-Test-pw-4711"
    algorithms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    host: str = LOOPBACK
    port: int = 0
    cwd: str | None = None  # where the command runs (the peers file's folder, or the caller's)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def _server_host_key() -> Any:
    from harness.scenario.peers import server_host_key

    return server_host_key()


def _client_key() -> Path:
    from harness.peers.base import client_keys

    return client_keys()["ed25519"]


class CommandClient:
    """Listens on loopback, runs the command against it, hands the accepted socket over."""

    def __init__(self, info: CommandClientInfo, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.info = info
        self.connect_timeout = connect_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.ctx: Any = None
        self.output = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def argv(self, port: int) -> list[str]:
        """The command for a server on ``port``, with a known_hosts file for our host key."""
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-client-command-")
        known_hosts = Path(self._tmp.name) / "known_hosts"
        key = _server_host_key()
        known_hosts.write_text(f"[{LOOPBACK}]:{port} {key.get_name()} {key.get_base64()}\n")
        values = {"port": str(port), "host": LOOPBACK, "user": self.info.username, "key": str(_client_key()),
                  "known_hosts": str(known_hosts), "command": REMOTE_COMMAND}  # fmt: skip
        return fill(self.info.tokens, values)

    def configure(self, config: Any) -> None:
        config.server_host_keys = [_server_host_key()]
        config.apply_server_defaults()

    def accept(self, ctx: Any) -> tuple[socket.socket, Any]:
        from harness.ssh.policy import ServerPolicy

        self.ctx = ctx
        ctx.cleanups.append(self.cleanup)
        sock = self._connect_client(self.connect_timeout)
        sock.settimeout(None)
        return sock, ServerPolicy()

    def _connect_client(self, timeout: float) -> socket.socket:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind((LOOPBACK, 0))
            listener.listen(1)
            listener.settimeout(timeout)
            port = listener.getsockname()[1]
            self.info.port = port
            argv = self.argv(port)
            try:
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, cwd=self.info.cwd)  # fmt: skip
            except OSError as exc:
                raise ClientCommandError(f"{self.info.peer_id}: cannot run {argv[0]!r}: {exc}") from None
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                self.cleanup()
                tail = self.output.strip()[-OUTPUT_TAIL:]
                raise ClientCommandError(f"{self.info.peer_id} did not connect within {timeout:.0f} s: "
                                         f"{shlex.join(argv)}\n{tail}") from None  # fmt: skip
        return sock

    def cleanup(self) -> None:
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            proc.kill()
        try:
            out, _ = proc.communicate(timeout=5)
            self.output = out.decode(errors="replace")
            if self.ctx is not None:
                self.ctx.note(f"client {self.info.peer_id} exited {proc.returncode}: "
                              f"{self.output.strip()[-OUTPUT_TAIL:]}")  # fmt: skip
        except subprocess.TimeoutExpired:
            pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def probe_client(info: CommandClientInfo, timeout: float = CONNECT_TIMEOUT) -> CommandClientInfo:
    """Run the command once, read its identification line and KEXINIT, fill in what it offers.

    The client is then cut off (it reports a failed connection, which is expected). A client that
    does not connect or speak SSH raises ClientCommandError with its output.
    """
    client = CommandClient(info, timeout)
    deadline = time.monotonic() + timeout
    try:
        sock = client._connect_client(timeout)
        with sock:
            offered = read_first_kexinit(sock, deadline)
    except PeerError as exc:
        client.cleanup()
        raise ClientCommandError(f"{info.peer_id}: probing the client failed: {exc}\n"
                                 f"{client.output.strip()[-OUTPUT_TAIL:]}") from None  # fmt: skip
    client.cleanup()
    info.banner = offered.pop("banner")[0]
    product, version = parse_software_version(info.banner)
    info.product, info.version = product or "custom", version
    info.algorithms = {**info.algorithms, **offered}  # what it really offers wins over declarations
    return info
