"""`harness serve`: a ready SSH server on our own stack, for people who point real clients at it.

Offers what OpenSSH's sshd offers by default (harness.ssh.config's server defaults; the
ssh-audit-clean subset with ``hardened``), runs commands with the system shell (exec and shell,
with a pty when asked) as the logged-in user when it can (harness.session_process), serves the
sftp subsystem through OpenSSH's sftp-server binary when one is installed, authenticates by
password and/or an authorized_keys file, and forwards ports to and from loopback only. It logs
what sshd logs (connections, auth results, channels, disconnects), with whatever the client
chose escaped. Used by the client-interop tests (real ssh, dbclient, plink, paramiko, AsyncSSH
against us) and useful to anyone who wants a scriptable SSH server.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.accept import accept_each, close_listener
from harness.channel import Channel
from harness.server import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_SUCCEEDED,
    InteractiveQuery,
    ServerInterface,
    SubsystemHandler,
)
from harness.session_process import DEFAULT_HANGUP_GRACE, CommandRunner, LoginUser, pump_output

log = logging.getLogger("harness.serve")

SFTP_SERVER_PATHS = ("/usr/lib/openssh/sftp-server", "/usr/lib/sftp-server", "/usr/libexec/sftp-server")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Past connections a Listener remembers for inspection (Listener.served): enough for a test
# module's connections, small enough that a long-running server's memory stays flat.
SERVED_HISTORY = 64
# sshd's LoginGraceTime: a connection that has not logged in after this many seconds is closed.
LOGIN_GRACE_TIME = 120.0
# How long a connection's thread waits in one go for the connection to end (it then waits again).
END_WAIT = 3600.0


def find_sftp_server() -> str | None:
    for path in SFTP_SERVER_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


@dataclass
class ServeConfig:
    username: str
    password: str | None = None
    authorized_keys: list[Any] = field(default_factory=list)  # PublicKey objects
    shell: str = "/bin/sh"
    cwd: str | None = None
    env: dict[str, str] | None = None
    allow_forwarding: bool = True
    # Offer every algorithm we implement (legacy ones included), for interop testing.
    all_algorithms: bool = False
    # Per-category offer overrides by security-option name (kex, key_types, ciphers, digests,
    # compression), applied after all_algorithms. Why: a client that cannot be told which
    # algorithm to use (plink has no per-connection option for MACs) still has to negotiate the
    # one algorithm we offer, so restricting our side tests that client algorithm by algorithm.
    algorithms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Re-exchange keys after this many bytes in either direction (None: the core's 1 GiB). Why:
    # with a small limit *our* server starts re-exchanges in the middle of a transfer, whatever
    # the client's own rekey policy is (paramiko, plink and dbclient would not rekey in 64 MiB).
    rekey_bytes: int | None = None
    # Offer only what ssh-audit rates without "fail" (no NIST ECDH, no ECDSA host keys) instead of
    # sshd's default offer. Ignored for a category that all_algorithms or algorithms sets.
    hardened: bool = False
    # The account commands run as (session_process.login_user_for decides); None: the server's own.
    login_user: LoginUser | None = None
    # Seconds from SIGHUP to SIGKILL for the programs of a connection that ended under them.
    hangup_grace: float = DEFAULT_HANGUP_GRACE


_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: str | bytes | bytearray) -> str:
    """``text`` with every character that ``str.isprintable()`` rejects escaped, for a log line.

    Why: user names, commands, environment values and the version line come from the client;
    a newline or an escape sequence in them must not forge log lines or drive the terminal that
    shows the log. A local stand-in with the rules of the shared helper being added as
    harness.ssh.printable (Python's escapes, backslashes left alone); use that once it exists.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    out = []
    for char in text:
        code = ord(char)
        if char.isprintable():
            out.append(char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def peer_name(address: Any) -> str:
    """host:port of a socket address ([host]:port for IPv6)."""
    try:
        host, port = address[0], address[1]
    except (TypeError, IndexError):
        return str(address)
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    return host.startswith("127.")


class SFTPSubsystem(SubsystemHandler):
    """The sftp subsystem through OpenSSH's sftp-server binary (stdin/stdout), as the login user."""

    def start_subsystem(self, name: str, transport: Any, channel: Channel) -> None:
        server = self.get_server()
        assert isinstance(server, ShellServer)
        binary = find_sftp_server()
        if binary is None:
            raise RuntimeError("no sftp-server binary installed")
        runner = CommandRunner(channel, server.config, None, None, {}, program=[binary])
        server.runners[channel.chanid] = runner
        runner.run_subsystem()


class ShellServer(ServerInterface):
    """The ServerInterface of `harness serve`."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._pty: dict[int, tuple[int, int]] = {}
        self._env: dict[int, dict[str, str]] = {}
        self.runners: dict[int, CommandRunner] = {}  # by channel id: the program each session runs
        # Channels whose one shell/exec/subsystem request succeeded (RFC 4254 6.5): a subsystem's
        # runner appears only once its thread runs, so `runners` alone would let a second one in.
        self._programs: set[int] = set()
        self._listeners: dict[tuple[str, int], socket.socket] = {}
        self.transport: Any = None
        self.peer = "?"  # host:port of the client, for log lines
        self.login: str | None = None  # how the client logged in, for the log line once it has
        self._interactive_user = config.username
        self._ended = False

    # -- authentication ---------------------------------------------------------------------

    def _auth_result(self, method: str, username: str, ok: bool, detail: str = "") -> int:
        """Log a failure now; keep a success for the connection's login line (Listener logs it
        once the core really authenticated: a publickey "would you accept" probe also asks us)."""
        what = f"{method}{detail} for '{printable(username)}' from {self.peer}"
        if ok:
            self.login = what
            return AUTH_SUCCESSFUL
        log.info("auth failed: %s", what)
        return AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        methods = []
        if self.config.authorized_keys:
            methods.append("publickey")
        if self.config.password is not None:
            methods += ["password", "keyboard-interactive"]
        return ",".join(methods)

    def check_auth_password(self, username: str, password: str) -> int:
        ok = self.config.password is not None and (username, password) == (self.config.username, self.config.password)
        return self._auth_result("password", username, ok)

    def check_auth_publickey(self, username: str, key: Any) -> int:
        ok = username == self.config.username and any(k == key for k in self.config.authorized_keys)
        return self._auth_result("publickey", username, ok, f" ({key.get_name()} {key.fingerprint_sha256()})")

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        if self.config.password is None or username != self.config.username:
            return self._auth_result("keyboard-interactive", username, False)
        self._interactive_user = username
        query = InteractiveQuery("", "")
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        ok = responses == [self.config.password]
        return self._auth_result("keyboard-interactive", self._interactive_user, ok)

    # -- channels -----------------------------------------------------------------------------

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session":
            log.info("%s: channel %d of type '%s' refused", self.peer, chanid, printable(kind))
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        log.info("%s: channel %d (session) opened", self.peer, chanid)
        return OPEN_SUCCEEDED

    def check_channel_pty_request(self, channel: Channel, term: str, width: int, height: int,
                                  pixelwidth: int, pixelheight: int, modes: bytes) -> bool:  # fmt: skip
        self._pty[channel.chanid] = (width or 80, height or 24)
        self._env.setdefault(channel.chanid, {})["TERM"] = term
        return True

    def check_channel_env_request(self, channel: Channel, name: str, value: str) -> bool:
        log.debug("%s: channel %d: env %s='%s'", self.peer, channel.chanid, printable(name), printable(value))
        self._env.setdefault(channel.chanid, {})[name] = value
        return True

    def _start(self, channel: Channel, command: bytes | None) -> bool:
        if channel.chanid in self._programs or self._ended:
            return False  # one program per session channel (RFC 4254 6.5)
        self._programs.add(channel.chanid)
        what = "shell" if command is None else f"exec '{printable(command)}'"
        log.info("%s: channel %d: %s%s", self.peer, channel.chanid, what,
                 " (pty)" if channel.chanid in self._pty else "")  # fmt: skip
        runner = CommandRunner(channel, self.config, command, self._pty.get(channel.chanid),
                               self._env.get(channel.chanid, {}))  # fmt: skip
        self.runners[channel.chanid] = runner
        runner.start()
        return True

    def check_channel_subsystem_request(self, channel: Channel, name: str) -> bool:
        log.info("%s: channel %d: subsystem '%s'", self.peer, channel.chanid, printable(name))
        if channel.chanid in self._programs or self._ended:
            return False  # one program per session channel (RFC 4254 6.5)
        started = super().check_channel_subsystem_request(channel, name)
        if started:
            self._programs.add(channel.chanid)
        return started

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        return self._start(channel, command)

    def check_channel_shell_request(self, channel: Channel) -> bool:
        return self._start(channel, None)

    def check_channel_window_change_request(self, channel: Channel, width: int, height: int,
                                            pixelwidth: int, pixelheight: int) -> bool:  # fmt: skip
        runner = self.runners.get(channel.chanid)
        if runner is not None:
            runner.resize(width, height)
        elif channel.chanid in self._pty:
            self._pty[channel.chanid] = (width or 80, height or 24)  # the size the program will start with
        return True

    def check_channel_signal_request(self, channel: Channel, signal: str) -> bool:
        runner = self.runners.get(channel.chanid)
        if runner is None:
            return False
        runner.signal(signal)
        return True

    # -- port forwarding (loopback only) ------------------------------------------------------

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        if not self.config.allow_forwarding:
            return False
        bind = "127.0.0.1" if address in ("", "localhost", "0.0.0.0", "::") else address
        if not _is_loopback(bind):
            return False
        sock = socket.socket()
        try:
            sock.bind((bind, port))
        except OSError:
            sock.close()
            return False
        sock.listen(16)
        actual = sock.getsockname()[1]
        self._listeners[(address, actual)] = sock
        if port != actual:
            self._listeners[(address, port)] = sock
        threading.Thread(target=self._accept_forwarded, args=(sock, address, actual), daemon=True).start()
        return actual

    def cancel_port_forward_request(self, address: str, port: int) -> bool:
        """False when nothing is forwarded there (the client is told: REQUEST_FAILURE)."""
        sock = self._listeners.pop((address, port), None)
        if sock is None:
            return False
        for key in [key for key, other in self._listeners.items() if other is sock]:
            del self._listeners[key]  # the same listener under the port the client asked for (0)
        close_listener(sock)
        return True

    def _accept_forwarded(self, listener: socket.socket, address: str, port: int) -> None:
        accept_each(listener, lambda conn, origin: self._forward_out(conn, origin, address, port))

    def _forward_out(self, conn: socket.socket, origin: tuple[str, int], address: str, port: int) -> None:
        try:
            chan = self.transport.open_forwarded_tcpip_channel(origin, (address, port))
        except Exception:
            conn.close()
            return
        bridge(conn, chan)

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:  # fmt: skip
        where = f"{printable(destination[0])}:{destination[1]}"
        if not self.config.allow_forwarding or not _is_loopback(destination[0]):
            log.info("%s: channel %d direct-tcpip to %s refused", self.peer, chanid, where)
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        log.info("%s: channel %d direct-tcpip to %s", self.peer, chanid, where)
        try:
            sock = socket.create_connection(destination, timeout=10)
        except OSError:
            return OPEN_FAILED_CONNECT_FAILED
        # The Channel object exists once this returns OPEN_SUCCEEDED; bridge from a thread.
        threading.Thread(target=self._bridge_later, args=(chanid, sock), daemon=True).start()
        return OPEN_SUCCEEDED

    # -- the end of the connection --------------------------------------------------------

    def end_sessions(self) -> int:
        """The connection ended: hang up its programs and close its forwarded ports (as sshd).

        Returns how many programs were still running.
        """
        self._ended = True
        for sock in set(self._listeners.values()):
            close_listener(sock)
        self._listeners.clear()
        return sum(runner.hang_up(self.config.hangup_grace) for runner in list(self.runners.values()))

    def _bridge_later(self, chanid: int, sock: socket.socket) -> None:
        chan = self.transport._wait_channel(chanid)
        if chan is None:
            sock.close()
            return
        bridge(sock, chan)


def bridge(sock: socket.socket, chan: Channel) -> None:
    """Copy both ways between a TCP socket and a channel until both sides end."""
    chan.settimeout(None)

    def sock_to_chan() -> None:
        pump_output(sock.recv, chan.sendall)
        try:
            chan.shutdown_write()
        except Exception:
            pass

    t = threading.Thread(target=sock_to_chan, daemon=True)
    t.start()
    try:
        while data := chan.recv(65536):
            sock.sendall(data)
    except (OSError, Exception):
        pass
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    t.join(30)
    sock.close()
    chan.close()


def prepare_connection(sock: socket.socket, host_keys: list[Any], config: ServeConfig,
                       moduli: str | None = None,
                       server_cls: type[ShellServer] | None = None) -> tuple[Any, ShellServer]:  # fmt: skip
    """Our server's Transport and ShellServer for an accepted socket, not started yet.

    ``server_cls`` replaces the policy (the scenario self-check's reference servers refuse
    everything or deny every login)."""
    from harness.ssh.config import ConnectionConfig, hardened_server_host_keys, hardened_server_kex
    from harness.transport import Transport

    conn_config = ConnectionConfig()
    if config.rekey_bytes is not None:
        conn_config.rekey_bytes = config.rekey_bytes
    t = Transport(sock, config=conn_config)
    opts = t.get_security_options()
    if config.hardened:
        opts.kex = hardened_server_kex()
        opts.key_types = hardened_server_host_keys()
    if config.all_algorithms:
        from harness.crypto_names import ALGORITHM_CATEGORIES

        for category, names in ALGORITHM_CATEGORIES.items():
            setattr(opts, category, names)
    for category, names in config.algorithms.items():
        setattr(opts, category, names)
    for key in host_keys:
        t.add_server_key(key)
    t.load_server_moduli(moduli)
    t.set_subsystem_handler("sftp", SFTPSubsystem)
    server = (server_cls or ShellServer)(config)
    server.transport = t
    return t, server


def serve_connection(sock: socket.socket, host_keys: list[Any], config: ServeConfig, moduli: str | None = None,
                     track: Callable[[Any], None] | None = None) -> Any:  # fmt: skip
    """Start our server on an accepted socket; returns the Transport (already serving).

    ``track`` sees the Transport before the key exchange starts, so a connection is on record
    even when its client finishes (or fails) before start_server returns to us.
    """
    t, server = prepare_connection(sock, host_keys, config, moduli)
    if track is not None:
        track(t)
    t.start_server(server=server)
    return t


def wait_for_end(transport: Any) -> str:
    """Block until the connection ends; why it ended, for the log (escaped: it quotes the client)."""
    while True:
        try:
            transport.wait_until(lambda: False, END_WAIT, "the end of the connection")
        except TimeoutError:
            continue
        except Exception as exc:
            return printable(str(exc)) or type(exc).__name__


class Listener:
    """Accept loop for `harness serve` and the tests (127.0.0.1 by default, port 0 = any).

    Each connection runs on its own thread from accept to end: key exchange, the log lines,
    the login grace time, and at the end the hang-up of its programs (ShellServer.end_sessions).
    """

    def __init__(self, host_keys: list[Any], config: ServeConfig, host: str = "127.0.0.1", port: int = 0,
                 moduli: str | None = None) -> None:  # fmt: skip
        self.host_keys = host_keys
        self.config = config
        self.moduli = moduli
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.address = self.sock.getsockname()[:2]
        self.transports: list[Any] = []
        # Every connection served, newest last, closed ones included (bounded: a long-running
        # server must not keep them all). Why: tests read from the server side what happened on
        # a client's connection after the client has gone (key exchanges, negotiated algorithms).
        self.served: deque[Any] = deque(maxlen=SERVED_HISTORY)
        self._accepted = 0  # connections ever tracked; marks index into `served` by this count
        self._served_lock = threading.Lock()
        self._live: set[ShellServer] = set()  # servers of connections not yet ended (for close())
        self._thread = threading.Thread(target=self._run, name="serve-accept", daemon=True)
        self.server_cls: type[ShellServer] | None = None  # None: ShellServer

    def start(self) -> Listener:
        self._thread.start()
        return self

    def _run(self) -> None:
        accept_each(self.sock, self._one)

    def _one(self, conn: socket.socket, origin: Any) -> None:
        """One connection, from accept to its end (this thread is the connection's own)."""
        peer = peer_name(origin)
        try:
            transport, server = prepare_connection(conn, self.host_keys, self.config, self.moduli,
                                                   self.server_cls)  # fmt: skip
        except Exception as exc:  # a bad configuration: say so for every connection it spoils
            log.error("connection from %s refused: cannot set up the server: %s", peer, exc)
            conn.close()
            return
        server.peer = peer
        log.debug("connection from %s accepted", peer)
        self._track(transport)
        with self._served_lock:
            self._live.add(server)
        try:
            self._serve(transport, server)
        finally:
            with self._served_lock:
                self._live.discard(server)

    def _serve(self, transport: Any, server: ShellServer) -> None:
        peer = server.peer
        try:
            transport.start_server(server=server)
        except Exception as exc:
            log.info("connection from %s, client %s: ended before keys were exchanged: %s", peer,
                     printable(transport.remote_version or "(none)"), printable(str(exc)))  # fmt: skip
            transport.close()
            return
        k = transport.negotiated
        log.info("connection from %s, client %s: kex %s, host key %s, cipher %s, mac %s", peer,
                 printable(transport.remote_version or "(none)"), k.kex, k.host_key_algorithm, k.cipher_in,
                 k.mac_in or "-")  # fmt: skip
        # Keep only live connections: a long-running server must not hold every past one.
        self.transports = [t for t in self.transports if t.is_active()] + [transport]
        self._watch(transport, server)

    def _watch(self, transport: Any, server: ShellServer) -> None:
        """Log the login, close a connection that does not log in (LOGIN_GRACE_TIME), and when
        the connection ends hang up its programs and log one line."""
        try:
            transport.wait_until(transport.is_authenticated, LOGIN_GRACE_TIME, "a login")
            log.info("auth accepted: %s", server.login)
        except TimeoutError:
            log.info("%s: no login within %.0f s: closing the connection", server.peer, LOGIN_GRACE_TIME)
            transport.close()
        except Exception:
            pass  # ended before a login: said below
        reason = wait_for_end(transport)
        running = server.end_sessions()
        hung_up = f"; hung up {running} running program(s)" if running else ""
        log.info("%s disconnected: %s%s", server.peer, reason, hung_up)

    def _track(self, transport: Any) -> None:
        with self._served_lock:
            self._accepted += 1
            self.served.append(transport)

    def mark(self) -> int:
        """A position in the connection history, for ``served_since``."""
        with self._served_lock:
            return self._accepted

    def served_since(self, mark: int) -> list[Any]:
        """The connections accepted after ``mark`` (oldest first; at most SERVED_HISTORY).

        Why: a test runs a client, then asks the server what that client's connections did.
        """
        with self._served_lock:
            count = min(self._accepted - mark, len(self.served))
            return list(self.served)[len(self.served) - count :] if count > 0 else []

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.sock.close()
        if self._thread.is_alive():
            self._thread.join(5.0)
        for t in self.transports:
            t.close()
        # The connections' own threads hang up their programs when they see the end; do it here
        # too, so that a server shutting down leaves no program of a client behind.
        with self._served_lock:
            live = list(self._live)
        for server in live:
            server.end_sessions()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def key_exchanges(transport: Any) -> int:
    """Completed key exchanges on one of our connections, the first included (rekeys = this - 1).

    Counted by the transport from the core's KexComplete events, whichever side started them, so
    a test can tell from the server side that a client really went through re-exchanges.
    """
    return transport.key_exchanges


def load_authorized_keys(path: str | Path) -> list[Any]:
    from harness.ssh.keys import parse_public_key_line

    keys = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(parse_public_key_line(line))
    return keys


def default_shell() -> str:
    return shutil.which("sh") or "/bin/sh"
