"""The client side of a server-role scenario: start a real client, accept it, report its end.

Why here and not in harness.peers: the target speaks the scenario engine's language (a
:class:`~harness.scenario.runner.Context`, StepFailure when the client never connects); the
peers it runs and how are :mod:`harness.peers.client_peers`, :mod:`harness.peers.client_invocation`
and :mod:`harness.peers.client_launch`.

Interface for the engine: ``configure(cfg)`` before the connection is made, ``accept(ctx)`` ->
(socket, policy), ``cleanup()`` (registered in ``ctx.cleanups``; runs after our socket is
closed), ``report()`` -> :class:`ClientRunReport` afterwards. ``record_sent(payload)`` takes
each payload our server sent, so that terminal injection can be checked against the strings
that carried control characters (banner, DISCONNECT, keyboard-interactive prompts,
exit-signal); ``note_control(source, text)`` adds one by hand.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.peers.client_invocation import DEFAULT_COMMAND, ClientFiles, Invocation, build_invocation
from harness.peers.client_launch import ClientProcess, ClientRunReport
from harness.peers.client_peers import check_available, default_client_peer_ids, resolve
from harness.peers.injection import find_injections
from harness.peers.testuser import TEST_PASSWORD, TEST_USER
from harness.scenario.runner import StepFailure
from harness.scenario.zoo_clients import zoo_needs
from harness.ssh import policy as pol
from harness.ssh.config import ConnectionConfig
from harness.ssh.wire import messages as m

# How long a client may take from start to its TCP connect: a container start is ~1 s, under
# load a few; Python clients import their library first.
CONNECT_BOUND = 30.0
# How long a client may take to exit once our side closed the connection; longer is "hung".
EXIT_BOUND = 10.0
# accept() wakes this often to notice a client that died before connecting.
ACCEPT_POLL = 0.2


@dataclass
class ClientPeerInfo:
    """PeerInfo-like description of a client peer (what requirements and reports look at)."""

    peer_id: str
    product: str
    version: str
    binary: str
    banner: str = ""
    username: str = TEST_USER
    password: str = TEST_PASSWORD
    algorithms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def client_peer_ids() -> list[str]:
    """Default client peers: every packaged one (the container ones when Docker answers)."""
    from harness.peers.docker import docker_available

    return default_client_peer_ids(docker_available()[0])


def client_peer_info(peer_id: str) -> ClientPeerInfo:
    """Info for a client peer id or alias (PeerError for an unknown one)."""
    spec = resolve(peer_id)
    binary = spec.interpreter or spec.kind
    return ClientPeerInfo(spec.peer_id, spec.product, spec.version, binary,
                          extra={"kind": spec.kind, "modes": ",".join(spec.modes),
                                 "launcher": "docker" if spec.container else "process"})  # fmt: skip


_HOST_KEYS: dict[str, Any] = {}


def server_host_key(key_type: str = "ed25519") -> Any:
    """Our server's host key of ``key_type`` ("ed25519"; "ecdsa" or "rsa" for the zoo clients
    that lack Ed25519), one per process and type (the clients pin it per run)."""
    if key_type not in _HOST_KEYS:
        from harness.ssh.keys import ECDSAKey, Ed25519Key, RSAKey

        makers = {"ed25519": Ed25519Key.generate, "ecdsa": ECDSAKey.generate, "rsa": lambda: RSAKey.generate(2048)}
        if key_type not in makers:
            raise ValueError(f"unknown host key type {key_type!r}; choose from {', '.join(makers)}")
        _HOST_KEYS[key_type] = makers[key_type]()
    return _HOST_KEYS[key_type]


class ClientLoginPolicy(pol.ServerPolicy):
    """Lets exactly this run's client in (its key, or the password, also as keyboard-interactive)
    and allows what the client modes ask for: a session with exec, shell, pty, env, sftp, and
    direct-tcpip (nothing is connected behind it: the scenario plays the far end)."""

    CHANNEL_REQUESTS = frozenset({"exec", "shell", "pty-req", "env", "subsystem", "window-change",
                                  "auth-agent-req@openssh.com", "x11-req"})  # fmt: skip

    def __init__(self, username: str, password: str, key: Any) -> None:
        self.username, self.password, self.key = username, password, key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password,keyboard-interactive"

    def check_auth_publickey(self, username: str, key: Any) -> int:
        return pol.AUTH_SUCCESSFUL if (username, key) == (self.username, self.key) else pol.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        return pol.AUTH_SUCCESSFUL if (username, password) == (self.username, self.password) else pol.AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> int | pol.InteractiveQuery:
        if username != self.username:
            return pol.AUTH_FAILED
        query = pol.InteractiveQuery()
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses: list[str]) -> int | pol.InteractiveQuery:
        return pol.AUTH_SUCCESSFUL if responses == [self.password] else pol.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return pol.OPEN_SUCCEEDED if kind == "session" else pol.OPEN_FAILED_UNKNOWN_CHANNEL_TYPE

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:  # fmt: skip
        return pol.OPEN_SUCCEEDED

    def check_channel_request_message(self, chanid: int, msg: Any) -> bool:
        return bool(msg.request_type in self.CHANNEL_REQUESTS)


def control_strings(payload: bytes) -> list[tuple[str, str]]:
    """(source, text) pairs of a payload our server sent whose text a client may print."""
    try:
        if payload[:1] == b"\x3c":  # USERAUTH_INFO_REQUEST (only our keyboard-interactive sends 60)
            msg = m.decode_message(payload, None, "keyboard-interactive")
            return [("kbd-interactive name", msg.name), ("kbd-interactive instruction", msg.instruction),
                    *(("kbd-interactive prompt", p) for p, _ in msg.prompts)]  # fmt: skip
        msg = m.decode_message(payload)
    except Exception:  # a deliberately malformed payload carries no text we can name
        return []
    if isinstance(msg, m.Disconnect):
        return [("disconnect", msg.description)]
    if isinstance(msg, m.Debug):
        return [("debug", msg.message)]
    if isinstance(msg, m.UserauthBanner):
        return [("banner", msg.message)]
    if isinstance(msg, m.ChannelRequestExitSignal):
        return [("exit-signal", msg.message)]
    return []


class ClientTarget:
    """Listens on loopback, runs the client peer against it, hands the accepted socket over.

    ``mode``: exec (default), shell (with a pty), sftp, forward (direct-tcpip); ``auth``:
    publickey (a fresh ``key_type`` key per run) or password; ``tty``: run the client on a
    pseudo-terminal (None: for shell mode only); ``command``: the remote command of exec mode.
    ``command_line``: instead of the peer's own invocation, run ``command_line(port)`` (any
    program that connects to 127.0.0.1:port; tests use it for a client that crashes or hangs).
    """

    def __init__(self, info: ClientPeerInfo, *, mode: str = "exec", auth: str = "publickey",
                 command: str = DEFAULT_COMMAND, tty: bool | None = None, key_type: str = "ed25519",
                 exit_bound: float = EXIT_BOUND, command_line: Callable[[int], list[str]] | None = None,
                 ) -> None:  # fmt: skip
        self.info = info
        self.spec = resolve(info.peer_id)
        self.mode, self.auth, self.command, self.tty, self.key_type = mode, auth, command, tty, key_type
        self.zoo = zoo_needs(self.spec.peer_id, key_type)
        if self.zoo is not None:
            self.key_type = self.zoo.key_type
        self.command_line = command_line
        self.exit_bound = exit_bound
        self.process: ClientProcess | None = None
        self.ctx: Any = None
        self.sent_controls: list[tuple[str, str]] = []
        self._config: ConnectionConfig | None = None
        self._report: ClientRunReport | None = None
        self.earlier_reports: list[ClientRunReport] = []  # runs before the last, oldest first
        self._workdir: str | None = None

    def supports(self, mode: str) -> bool:
        """Whether this client peer has ``mode`` (dbclient has no sftp): for not-applicable cells."""
        return mode in self.spec.modes

    def not_applicable(self) -> str | None:
        """Why this peer cannot play the run asked for (mode, auth), None when it can."""
        if self.zoo is not None and self.mode not in self.spec.modes:
            return f"zoo client {self.spec.peer_id} runs only one exec command (no {self.mode} mode)"
        if not self.supports(self.mode):
            return f"{self.spec.peer_id} has no {self.mode} mode"
        if self.zoo is not None and self.auth == "password" and not self.zoo.password_login:
            return f"zoo client {self.spec.peer_id} has no password login"
        return None

    def configure(self, config: ConnectionConfig) -> None:
        config.server_host_keys = [server_host_key(self.zoo.host_key if self.zoo else "ed25519")]
        config.apply_server_defaults()
        if self.zoo is not None:
            self.zoo.widen(config)
        self._config = config

    def record_sent(self, payload: bytes) -> None:
        self.sent_controls += control_strings(payload)

    def note_control(self, source: str, text: str) -> None:
        self.sent_controls.append((source, text))

    def accept(self, ctx: Any) -> tuple[socket.socket, pol.ServerPolicy]:
        check_available(self.spec)
        if self.process is not None:  # a second connection in one scenario: a new client run
            self.cleanup()
            assert self._report is not None
            self.earlier_reports.append(self._report)
            self.process, self._report = None, None
        self.ctx = ctx
        ctx.cleanups.append(self.cleanup)
        self._workdir = tempfile.mkdtemp(prefix=f"harness-client-{self.spec.peer_id}-")
        files = ClientFiles(Path(self._workdir) / "run", self.info.username, self.info.password, self.key_type)
        policy = ClientLoginPolicy(self.info.username, self.info.password, files.public_key())
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.settimeout(ACCEPT_POLL)
            port = listener.getsockname()[1]
            self.info.port = port
            host_key = server_host_key(self.zoo.host_key if self.zoo else "ed25519")
            files.write_host_files(port, f"{host_key.get_name()} {host_key.get_base64()}")
            name = f"harness-client-{os.getpid()}-{port}"
            if self.command_line is not None:
                inv = Invocation(self.command_line(port), {}, bool(self.tty))
            else:
                inv = build_invocation(self.spec, files, port, mode=self.mode, auth=self.auth, command=self.command,
                                       tty=self.tty, host_fingerprint=host_key.fingerprint_sha256(), name=name)
            self.process = ClientProcess(self.spec.peer_id, inv.argv, env=inv.env, tty=inv.tty,
                                         status_file=inv.status_file, kill_argv=inv.kill_argv)  # fmt: skip
            ctx.note(f"client {self.spec.peer_id} ({self.mode}, {self.auth}): {inv.display}")
            sock = self._wait_for_connection(listener, ctx.timeout + CONNECT_BOUND)
        sock.settimeout(None)
        return sock, policy

    def _wait_for_connection(self, listener: socket.socket, bound: float) -> socket.socket:
        assert self.process is not None
        deadline = time.monotonic() + bound
        while True:
            try:
                return listener.accept()[0]
            except TimeoutError:
                pass
            if not self.process.running():
                report = self._finish()
                raise StepFailure(f"client {self.spec.peer_id} ended before it connected: {report.describe()}")
            if time.monotonic() > deadline:
                report = self._finish(bound=0.0)
                raise StepFailure(f"client {self.spec.peer_id} did not connect within {bound:.0f} s: "
                                  f"{report.describe()}")  # fmt: skip

    def _finish(self, bound: float | None = None) -> ClientRunReport:
        if self._report is None and self.process is not None:
            report = self.process.finish(self.exit_bound if bound is None else bound)
            sent = list(self.sent_controls)
            if self._config is not None and self._config.auth_banner and not any(s == "banner" for s, _ in sent):
                sent.append(("banner", self._config.auth_banner))
            report.injections = find_injections(sent, report.stdout + "\n" + report.stderr)
            self._report = report
        assert self._report is not None
        return self._report

    def cleanup(self) -> None:
        """After our side closed: wait (bounded) for the client's exit, record how it ended."""
        try:
            if self.process is not None:
                report = self._finish()
                if self.ctx is not None:
                    self.ctx.note(f"client {self.spec.peer_id}: {report.describe()}")
        finally:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def report(self) -> ClientRunReport | None:
        """How the client run ended (None before accept() started one)."""
        return self._report
