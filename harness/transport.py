"""Paramiko-style ``Transport``: the classic client API over the sans-I/O core.

Every blocking call waits on the driver's condition with a timeout (``default_timeout`` unless
the call gives one) and wakes early when the connection dies, re-raising the reason.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.channel import Channel
from harness.drivers.threaded import ThreadedDriver, system_randbytes
from harness.forwarding import ForwardHandler, ForwardingManager
from harness.security import SecurityOptions
from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.connection import Connection
from harness.ssh.errors import (
    AuthenticationException,
    BadAuthenticationType,
    ChannelException,
    ConnectionLost,
    DisconnectReason,
    HostKeyMismatch,
    NoValidConnectionsError,
    PartialAuthentication,
    PeerDisconnected,
    SSHException,
    SSHTimeout,
)
from harness.ssh.phases import Phase, Role
from harness.ssh.printable import printable
from harness.ssh.wire import messages as m

T = TypeVar("T")
log = logging.getLogger("harness.transport")


def _open_socket(target: Any, timeout: float) -> socket.socket:
    """Connect to ``target``; a failure raises an SSHException subclass that names the address
    (paramiko's NoValidConnectionsError, or SSHTimeout), not a bare OSError."""
    if isinstance(target, socket.socket):
        return target
    if isinstance(target, str):
        host, _, port = target.rpartition(":")
        target = (host or target, int(port) if port else 22)
    if isinstance(target, tuple):
        address = (str(target[0]), int(target[1]))
        try:
            return socket.create_connection(address, timeout=timeout)
        except TimeoutError as exc:
            raise SSHTimeout(f"could not connect to {address[0]}:{address[1]}: no answer within {timeout} s") from exc
        except OSError as exc:
            raise NoValidConnectionsError({address: exc}) from exc
    if hasattr(target, "recv") and hasattr(target, "sendall"):
        return target  # a socket-like object
    raise TypeError(f"Transport needs a socket, (host, port) or 'host:port', not {type(target).__name__}")


class Transport:
    """One SSH connection: client (start_client/connect) or server (start_server)."""

    default_timeout: float = 60.0

    def __init__(self, sock: Any, *, config: ConnectionConfig | None = None,
                 randbytes: Callable[[int], bytes] = system_randbytes, timeout: float = 15.0) -> None:  # fmt: skip
        self.sock = _open_socket(sock, timeout)
        self._config = config or ConnectionConfig()
        self._randbytes = randbytes
        self._conn: Connection = Connection(Role.CLIENT, randbytes, self._config)
        self._driver: ThreadedDriver | None = None
        self._channels: dict[int, Channel] = {}
        self._log_channel = "harness.transport"
        self._log = logging.getLogger(self._log_channel)
        self._hexdump = False
        self._expected_key: Any = None
        self._host_keys: Any = None
        self._hostname: str | None = None
        self._server_key: Any = None
        self._auth_events: list[ev.Event] = []
        self._kex_done = 0
        self._kex_info: ev.KexComplete | None = None
        self._global_replies: dict[int, ev.GlobalReply] = {}
        self._banner: str | None = None
        self._username: str | None = None
        self.remote_version: str | None = None
        self.local_version = self._conn.our_version_line.decode()
        self._server: Any = None
        self._server_keys: list[Any] = []
        self._subsystems: dict[str, tuple[type, tuple[Any, ...], dict[str, Any]]] = {}
        self._accept_queue: list[Channel] = []
        self._pending_user: str | None = None
        self._keepalive_interval = 0.0
        self._keepalive_last = 0.0
        # OpenSSH's ServerAliveCountMax: probes that may go unanswered before the peer is dead.
        self.keepalive_count_max = 3
        self._keepalive_tokens: set[int] = set()  # core tokens of probes awaiting a reply
        self._keepalive_unanswered = 0
        self._keepalive_first_unanswered = 0.0
        self._keepalive_sent = 0
        self._keepalive_answered = 0
        self._forwarding = ForwardingManager(self)
        self._peername: tuple[Any, ...] | None = None
        try:
            self._peername = tuple(self.sock.getpeername())  # kept for after close()
        except (OSError, AttributeError):
            pass
        self._disconnect: ev.Disconnected | None = None
        # Observer mode (config.observe): called with each PeerViolation, under the protocol
        # lock. The scenario self-check's reference servers ignore violations or hang up here.
        self.on_violation: Callable[[ev.PeerViolation], None] | None = None
        self._capture_dir: str | None = None  # set_capture(); else $HARNESS_PCAP_DIR
        self._capture: Any = None

    # == lifecycle =========================================================================

    def __repr__(self) -> str:
        if self._kex_info is None:
            return "<harness.Transport (unconnected)>"
        k = self._kex_info
        state = "active" if self.is_active() else "closed"
        role = "server" if self.server_mode else "client"
        nchan = sum(1 for c in self._channels.values() if c.opened and not c.closed)
        return f"<harness.Transport {role} {state} (cipher {k.cipher_out}, {nchan} open channel(s))>"

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[], T]) -> T:
        if self._driver is None:
            raise SSHException("transport not started (call start_client or connect first)")
        self._raise_if_dead()
        return self._driver.call(fn)

    def _raise_if_dead(self) -> None:
        """On a transport that died of an error, every later call raises that error."""
        driver = self._driver
        if driver is not None and driver.closed and driver.error is not None:
            err = driver.error
            raise err if isinstance(err, SSHException) else SSHException(str(err))

    @property
    def key_exchanges(self) -> int:
        """Completed key exchanges, the first included (re-exchanges = this - 1), whoever started them."""
        return self._kex_done

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None, what: str = "condition") -> None:
        """Block until ``predicate()`` holds (checked whenever the connection changes) or raise
        SSHException after ``timeout`` seconds (default: ``default_timeout``) naming ``what``."""
        self._wait(predicate, timeout, what)

    def _wait(self, predicate: Callable[[], bool], timeout: float | None, what: str) -> None:
        if self._driver is None:
            raise SSHException("transport not started")
        try:
            self._driver.wait_for(predicate, self.default_timeout if timeout is None else timeout, what)
        except SSHException:
            if self._disconnect is not None and self._disconnect.by_peer:
                if self._disconnect.error is not None:  # the stream ended: ConnectionLost / NotAnSSHServer
                    raise self._disconnect.error from None
                raise PeerDisconnected(self._disconnect.reason, self._disconnect.description) from None
            raise

    def start_client(self, event: threading.Event | None = None, timeout: float | None = None) -> None:
        """Run the version exchange and first key exchange; return when keys are in use."""
        if self._driver is not None:
            raise SSHException("transport already started")
        self._install_verifier()
        self._run_first_kex(event, timeout)

    def _run_first_kex(self, event: threading.Event | None, timeout: float | None) -> None:
        """Start the driver and wait for the first key exchange (both roles)."""
        self._driver = ThreadedDriver(self.sock, self._conn, self._on_event, logger=self._log)
        self._driver.tick = self._tick
        self._start_capture(self._driver)
        self._driver.start()
        try:
            self._wait(lambda: self._kex_done > 0, timeout, "the first key exchange")
        except TimeoutError as exc:  # name the address: "timed out" alone does not say which peer
            where = "{}:{}".format(*self._peername[:2]) if self._peername else "the peer"
            limit = self.default_timeout if timeout is None else timeout
            silent = self._conn.phase is Phase.VERSION
            self.close()  # nothing usable is left: do not keep the socket and the reader thread
            if silent:
                raise SSHTimeout(f"{where} sent no SSH identification line within {limit} s "
                                 "(is an SSH server listening there?)") from exc  # fmt: skip
            raise SSHTimeout(f"key exchange with {where} did not finish within {limit} s") from exc
        finally:
            if event is not None:
                event.set()

    # == server mode ========================================================================

    def add_server_key(self, key: Any) -> None:
        """A host key to offer; several types at once, the client's choice decides which signs."""
        self._server_keys = [k for k in self._server_keys if k.get_name() != key.get_name()] + [key]

    def get_server_key(self) -> Any:
        """The host key that signed the last exchange (server mode)."""
        alg = self._conn.kex.host_key_algorithm
        if alg is None:
            return self._server_keys[0] if self._server_keys else None
        return self._conn.host_key_for(alg)

    def load_server_moduli(self, filename: str | None = None) -> bool:
        """Enable diffie-hellman-group-exchange on the server from a moduli file (OpenSSH format)."""
        from harness.ssh.kex.moduli import DEFAULT_MODULI_PATHS, Moduli

        for path in [filename] if filename else list(DEFAULT_MODULI_PATHS):
            try:
                moduli = Moduli.load(path)
            except OSError:
                if filename:
                    raise
                continue
            if len(moduli):
                self._config.moduli = moduli
                return True
        return False

    def set_subsystem_handler(self, name: str, handler: type, *args: Any, **kwargs: Any) -> None:
        self._subsystems[name] = (handler, args, kwargs)

    def _start_subsystem(self, channel: Channel, name: str) -> bool:
        entry = self._subsystems.get(name)
        if entry is None:
            return False
        cls, args, kwargs = entry
        handler = cls(channel, name, self._server, *args, **kwargs)
        handler.start()
        return True

    def _new_server_channel(self, chanid: int) -> Channel:
        chan = Channel(self, chanid)
        chan.opened = True
        self._channels[chanid] = chan
        return chan

    def start_server(self, event: threading.Event | None = None, server: Any = None,
                     timeout: float | None = None) -> None:  # fmt: skip
        """Serve this connection: version exchange and first key exchange with our host keys."""
        from harness.server import PolicyAdapter, ServerInterface

        if self._driver is not None:
            raise SSHException("transport already started")
        if not self._server_keys:
            raise SSHException("add_server_key() before start_server(): a server needs a host key")
        self._server = server or ServerInterface()
        self._config.server_host_keys = list(self._server_keys)
        self._config.apply_server_defaults()
        self._conn = Connection(Role.SERVER, self._randbytes, self._config, PolicyAdapter(self, self._server))
        if self._hexdump:
            self._conn.packet_observer = self._dump_packet
        self._run_first_kex(event, timeout)

    def accept(self, timeout: float | None = None) -> Channel | None:
        """The next incoming channel we accepted, None on timeout (paramiko): in server mode one
        the client opened, in client mode a forwarded-tcpip channel of a forward without handler."""
        try:
            self._wait(lambda: bool(self._accept_queue), timeout, "a channel")
        except TimeoutError:
            return None
        return self._accept_queue.pop(0)

    def open_forwarded_tcpip_channel(self, src_addr: tuple[str, int], dest_addr: tuple[str, int]) -> Channel:
        """Server mode: a forwarded-tcpip channel for a connection to a forwarded port."""
        return self.open_channel("forwarded-tcpip", dest_addr=dest_addr, src_addr=src_addr)

    def _wait_channel(self, chanid: int, timeout: float = 10.0) -> Channel | None:
        try:
            self._wait(lambda: chanid in self._channels, timeout, f"channel {chanid}")
        except (TimeoutError, SSHException):
            return None
        return self._channels.get(chanid)

    @property
    def server_mode(self) -> bool:
        return not self._conn.is_client

    def connect(self, hostkey: Any = None, username: str = "", password: str | None = None,
                pkey: Any = None, *, host_keys: Any = None, hostname: str | None = None,
                port: int = 22, timeout: float | None = None, pcap: str | None = None) -> None:  # fmt: skip
        """Key exchange, host key check, then password or public key authentication; ``pcap``
        writes the connection as a pcapng and key log into that directory (set_capture)."""
        if pcap is not None:
            self.set_capture(pcap)
        if hostkey is not None:
            self._expected_key = hostkey
        if host_keys is not None:
            self._host_keys = host_keys
            self._hostname = hostname or self._peer_host()
            self._port = port if hostname else self._peer_port()
        self.start_client(timeout=timeout)
        if not username:
            return
        if pkey is not None:
            self.auth_publickey(username, pkey)
        elif password is not None:
            self.auth_password(username, password)
        else:
            self.auth_none(username)

    def _peer_host(self) -> str:
        return str(self.sock.getpeername()[0])

    def _peer_port(self) -> int:
        return int(self.sock.getpeername()[1])

    def _install_verifier(self) -> None:
        def verify(algorithm: str, blob: bytes) -> None:
            from harness.ssh.keys import parse_public_key
            from harness.ssh.keys.known_hosts import verify_host_key

            key = parse_public_key(blob)
            self._server_key = key
            if self._expected_key is not None:
                expected = self._expected_key
                exp_blob = expected.asbytes()
                if exp_blob != blob:
                    raise HostKeyMismatch(
                        f"server host key {key.get_name()} {key.fingerprint_sha256()} does not match the expected "
                        f"{expected.get_name()} key"
                    )
                return
            if self._host_keys is not None:
                verify_host_key(self._host_keys, self._hostname, self._port, key)
                return
            self._log.warning("accepting host key %s %s without verification (no hostkey or known_hosts given)",
                              key.get_name(), key.fingerprint_sha256())  # fmt: skip

        self._config.host_key_verifier = verify

    def close(self) -> None:
        driver = self._driver
        if driver is None:
            self.sock.close()
            return
        if not driver.closed:
            try:
                driver.call(lambda: self._conn.disconnect())
            except Exception:
                pass
        driver.shutdown()
        driver.join(5.0)
        if self._capture is not None:
            self._capture.close()

    def set_capture(self, directory: str | None) -> None:
        """Write this connection as a pcapng plus an SSH key log into ``directory`` (before
        start_client/start_server; harness/capture). None: only if $HARNESS_PCAP_DIR is set."""
        self._capture_dir = directory

    @property
    def capture_files(self) -> tuple[str, str] | None:
        """(pcapng path, key log path) of this connection's capture, or None."""
        c = self._capture
        return None if c is None else (str(c.pcap_path), str(c.keylog_path))

    def _start_capture(self, driver: ThreadedDriver) -> None:
        from harness.capture import ConnectionCapture, directory_from_env

        directory = Path(self._capture_dir) if self._capture_dir else directory_from_env()
        if directory is None:
            return
        self._capture = ConnectionCapture(directory, self.sock, self._conn.is_client)
        driver.recorder = self._capture.record
        self._conn.kex_observer = self._capture.observe_kex

    def is_active(self) -> bool:
        return self._driver is not None and not self._driver.closed and self._conn.phase is not Phase.CLOSED

    def is_authenticated(self) -> bool:
        return self._conn.auth.authenticated and self.is_active()

    def get_exception(self) -> BaseException | None:
        return self._driver.error if self._driver else None

    def getpeername(self) -> tuple[Any, ...]:
        """The peer's socket address (still known after the connection closed)."""
        if self._peername is None:
            self._peername = tuple(self.sock.getpeername())
        return self._peername

    def get_username(self) -> str | None:
        return self._username

    def get_banner(self) -> str | None:
        """The server's USERAUTH_BANNER as sent, control characters included: pass it through
        ``harness.ssh.printable.printable`` before showing it on a terminal."""
        return self._banner

    def get_remote_server_key(self) -> Any:
        if self._server_key is None:
            raise SSHException("no key exchange has completed")
        return self._server_key

    @property
    def session_id(self) -> bytes | None:
        return self._conn.session_id

    def get_security_options(self) -> SecurityOptions:
        return SecurityOptions(self._config)

    @property
    def negotiated(self) -> ev.KexComplete | None:
        """The algorithms of the last completed key exchange."""
        return self._kex_info

    # == events ============================================================================

    def _on_event(self, event: ev.Event) -> None:
        chanid = getattr(event, "channel", None)
        if chanid is not None and isinstance(event, ev.ChannelOpened) and self.server_mode:
            chan = self._channels.get(chanid)
            if chan is not None and chan.opened:  # the client opened it and the policy accepted
                self._accept_queue.append(chan)
                return
            # else one we opened (forwarded-tcpip), confirmed by the client: delivered below
        if chanid is not None and isinstance(event, ev.ChannelOpenRequested):
            # forwarded-tcpip for a forward we requested; everything else is refused.
            self._forwarding.on_open_requested(event)
            return
        if chanid is not None:
            chan = self._channels.get(chanid)
            if chan is not None:
                chan._on_event(event)
                if isinstance(event, ev.ChannelClosed):
                    self._channels.pop(chanid, None)
            return
        if isinstance(event, ev.KexComplete):
            self._kex_done += 1
            self._kex_info = event
            self._log.info("key exchange %d complete: kex=%s hostkey=%s cipher=%s/%s mac=%s/%s comp=%s/%s",
                           self._kex_done, event.kex, event.host_key_algorithm, event.cipher_out,
                           event.cipher_in, event.mac_out, event.mac_in, event.compression_out,
                           event.compression_in)  # fmt: skip
        elif isinstance(event, ev.VersionReceived):
            self.remote_version = event.line
        elif isinstance(event, ev.AuthBanner):
            self._banner = event.message
        elif isinstance(event, ev.AuthSuccess | ev.AuthFailure | ev.AuthInfoRequest
                        | ev.AuthPasswordChangeRequired | ev.AuthPublicKeyOk):  # fmt: skip
            self._auth_events.append(event)
        elif isinstance(event, ev.GlobalReply):
            # OpenSSH's ServerAlive rule: any reply, success or failure, shows the peer is alive.
            self._keepalive_unanswered = 0
            if event.token in self._keepalive_tokens:
                self._keepalive_tokens.discard(event.token)
                self._keepalive_answered += 1
                return
            self._forwarding.on_global_reply(event)
            self._global_replies[event.token] = event
        elif isinstance(event, ev.Disconnected):
            self._disconnect = event
            if event.by_peer:
                self._log.info("peer disconnected: reason %s: %s", event.reason, printable(event.description))
        elif isinstance(event, ev.DebugReceived):
            self._log.debug("peer debug message: %s", printable(event.message))
        elif isinstance(event, ev.PeerViolation) and self.on_violation is not None:
            self.on_violation(event)

    def _tick(self) -> None:
        """Reader thread, under the core lock, after a second of silence from the peer."""
        if not self._keepalive_interval or self._conn.phase is not Phase.CONNECTED:
            return
        now = time.monotonic()
        if now - self._keepalive_last < self._keepalive_interval:
            return
        self._keepalive_last = now
        if self._keepalive_unanswered >= self.keepalive_count_max:
            self._keepalive_dead(now)
            return
        if self._keepalive_unanswered == 0:
            self._keepalive_first_unanswered = now
        token = self._conn.global_request("keepalive@openssh.com", want_reply=True)
        assert token is not None
        self._keepalive_tokens.add(token)
        self._keepalive_unanswered += 1
        self._keepalive_sent += 1

    def _keepalive_dead(self, now: float) -> None:
        """Declare the peer dead (we hold the core lock, so the driver's state is set directly)."""
        n, seconds = self._keepalive_unanswered, now - self._keepalive_first_unanswered
        exc = ConnectionLost(f"no answer to {n} keepalive probes in {seconds:.1f} s")
        self._log.warning("closing the connection: %s", exc)
        driver = self._driver
        assert driver is not None
        if driver.error is None:
            driver.error = exc
        self._conn.disconnect(DisconnectReason.CONNECTION_LOST, str(exc))
        driver.closed = True  # the reader leaves its loop and shuts the socket down; waiters wake

    # == authentication ====================================================================

    def _auth(self, start: Callable[[], None], what: str, timeout: float | None = None) -> ev.Event:
        self._auth_events.clear()
        self._call(start)
        self._wait(lambda: bool(self._auth_events), timeout, f"the reply to {what} authentication")
        return self._auth_events.pop(0)

    def _auth_result(self, event: ev.Event, username: str, method: str) -> list[str]:
        if isinstance(event, ev.AuthSuccess):
            self._username = username
            return []
        if isinstance(event, ev.AuthFailure):
            if event.partial_success:
                raise PartialAuthentication(list(event.methods))
            if method not in event.methods and method != "none":
                raise BadAuthenticationType(f"{method} authentication is not allowed; server allows "
                                            f"{', '.join(event.methods)}", list(event.methods))  # fmt: skip
            raise AuthenticationException(f"{method} authentication failed for {username!r}; server allows "
                                          f"{', '.join(event.methods)}")  # fmt: skip
        if isinstance(event, ev.AuthPasswordChangeRequired):
            raise AuthenticationException(f"server demands a password change: {printable(event.prompt)}")
        raise AuthenticationException(f"unexpected reply during {method} authentication: {event}")

    def wait_for_service_accept(self, timeout: float | None = None) -> None:
        """Block until the server accepted the ssh-userauth service (SERVICE_ACCEPT). Otherwise
        the first authentication request follows the SERVICE_REQUEST at once (RFC 4253 does not
        ask a client to wait), and PuTTY's Uppity 0.78 at times leaves such a request unanswered."""
        self._wait(lambda: self._conn.auth.service_accepted, timeout, "SERVICE_ACCEPT")

    def auth_none(self, username: str) -> list[str]:
        """Try the "none" method; returns [] on success, else the allowed methods."""
        event = self._auth(lambda: self._conn.auth.none(username), "none")
        if isinstance(event, ev.AuthFailure) and not event.partial_success:
            return list(event.methods)
        return self._auth_result(event, username, "none")

    def auth_password(self, username: str, password: str) -> list[str]:
        event = self._auth(lambda: self._conn.auth.password(username, password), "password")
        return self._auth_result(event, username, "password")

    def auth_publickey(self, username: str, key: Any, algorithm: str | None = None) -> list[str]:
        event = self._auth(lambda: self._conn.auth.publickey(username, key, algorithm), "publickey")
        return self._auth_result(event, username, "publickey")

    def auth_interactive(self, username: str, handler: Callable[[str, str, list[tuple[str, bool]]], list[str]],
                         submethods: str = "") -> list[str]:  # fmt: skip
        """keyboard-interactive: ``handler(title, instructions, [(prompt, echo), ...])`` -> answers."""
        event = self._auth(lambda: self._conn.auth.keyboard_interactive(username, submethods), "keyboard-interactive")
        while isinstance(event, ev.AuthInfoRequest):
            answers = list(handler(event.name, event.instruction, list(event.prompts)))
            if len(answers) != len(event.prompts):
                raise AuthenticationException(f"handler gave {len(answers)} answers to {len(event.prompts)} prompts")
            event = self._auth(lambda a=answers: self._conn.auth.info_response(a), "keyboard-interactive")
        return self._auth_result(event, username, "keyboard-interactive")

    def auth_interactive_dumb(self, username: str, password: str) -> list[str]:
        """keyboard-interactive answering every hidden prompt with ``password``."""
        return self.auth_interactive(username, lambda t, i, prompts: [password for _ in prompts])

    # == channels ==========================================================================

    def open_session(self, window_size: int | None = None, max_packet_size: int | None = None,
                     timeout: float | None = None) -> Channel:  # fmt: skip
        return self.open_channel("session", window_size=window_size, max_packet_size=max_packet_size,
                                 timeout=timeout)  # fmt: skip

    def open_channel(self, kind: str, dest_addr: tuple[str, int] | None = None,
                     src_addr: tuple[str, int] | None = None, window_size: int | None = None,
                     max_packet_size: int | None = None, timeout: float | None = None) -> Channel:  # fmt: skip
        if not self.is_authenticated():
            self._raise_if_dead()
            raise SSHException("open a channel only after authentication succeeded")
        extra: m.Message | None = None
        if kind in ("direct-tcpip", "forwarded-tcpip"):
            if dest_addr is None or src_addr is None:
                raise ValueError(f"{kind} channels need dest_addr and src_addr")
            cls = m.ChannelOpenDirectTcpip if kind == "direct-tcpip" else m.ChannelOpenForwardedTcpip
            extra = cls(address=dest_addr[0], port=dest_addr[1], originator_address=src_addr[0],
                        originator_port=src_addr[1])  # fmt: skip
        cfg = self._config

        def start() -> Channel:
            saved = cfg.window_size, cfg.max_packet
            cfg.window_size = window_size or saved[0]
            cfg.max_packet = max_packet_size or saved[1]
            try:
                cid = self._conn.channels.open(kind, extra)
            finally:
                cfg.window_size, cfg.max_packet = saved
            chan = Channel(self, cid)
            self._channels[cid] = chan
            return chan

        chan = self._call(start)
        self._wait(lambda: chan.opened or chan.open_error is not None, timeout, f"{kind} channel to open")
        if chan.open_error is not None:
            raise chan.open_error
        return chan

    def open_sftp_client(self) -> Any:
        """An SFTP session on a new channel (``harness.sftp_client.SFTPClient``)."""
        from harness.sftp_client import SFTPClient

        return SFTPClient.from_transport(self)

    # == global requests, rekey, keepalive ================================================

    def global_request(self, kind: str, data: bytes | None = None, wait: bool = True,
                       timeout: float | None = None) -> bytes | None:  # fmt: skip
        """Send a global request; with ``wait`` return the reply data (None on failure)."""
        token = self._call(lambda: self._conn.global_request(kind, wait, data or b""))
        if not wait or token is None:
            return None
        self._wait(lambda: token in self._global_replies, timeout, f"reply to global request {kind}")
        reply = self._global_replies.pop(token)
        return reply.data if reply.success else None

    def renegotiate_keys(self, timeout: float | None = None) -> None:
        """Force a new key exchange and wait until the new keys are in use."""
        before = self._kex_done
        self._call(self._conn.rekey)
        self._wait(lambda: self._kex_done > before, timeout, "the key re-exchange")

    def send_ignore(self, byte_count: int | None = None) -> None:
        n = byte_count if byte_count is not None else 10 + self._randbytes(1)[0] % 32
        self._call(lambda: self._conn.send_message(m.Ignore(data=self._randbytes(n))))

    def set_keepalive(self, interval: float, count_max: int | None = None) -> None:
        """Probe with keepalive@openssh.com (want_reply) after ``interval`` s of silence (0 = off).

        Like OpenSSH's ServerAliveInterval / ServerAliveCountMax: any reply counts as an answer;
        when ``keepalive_count_max`` probes in a row went unanswered, the next due probe closes
        the transport with ConnectionLost instead (after about interval * (count_max + 1) s).
        Probes run from the reader's 1 s tick, so intervals are effectively whole seconds.
        """
        if interval < 0:
            raise ValueError("keepalive interval must be >= 0")
        if count_max is not None:
            if count_max < 1:
                raise ValueError("keepalive count_max must be >= 1")
            self.keepalive_count_max = int(count_max)
        self._keepalive_interval = float(interval)
        self._keepalive_last = time.monotonic()

    @property
    def keepalive_stats(self) -> dict[str, int]:
        """Probes sent and answered so far, and how many are outstanding now."""
        return {"sent": self._keepalive_sent, "answered": self._keepalive_answered,
                "unanswered": self._keepalive_unanswered}  # fmt: skip

    # == port forwarding (client) ==========================================================

    def request_port_forward(self, address: str, port: int, handler: ForwardHandler | None = None,
                             timeout: float | None = None) -> int:  # fmt: skip
        """Ask the server to listen on (address, port) and forward connections to us.

        Returns the port (the one the server chose when ``port`` is 0); raises SSHException if
        refused. Each connection arrives as a forwarded-tcpip channel, passed to
        ``handler(channel, (origin_addr, origin_port), (server_addr, server_port))`` in a new
        thread, or without a handler queued for :meth:`accept`.
        """
        if not self.is_authenticated():
            raise SSHException("request port forwarding only after authentication succeeded")
        return self._forwarding.request(address, port, handler, timeout)

    def cancel_port_forward(self, address: str, port: int, timeout: float | None = None) -> None:
        """Stop the forward of (address, port) (the granted port); new connections are refused."""
        self._forwarding.cancel(address, port, timeout)

    # == logging ===========================================================================

    def set_log_channel(self, name: str) -> None:
        self._log_channel = name
        self._log = logging.getLogger(name)
        if self._driver is not None:
            self._driver.log = self._log

    def get_log_channel(self) -> str:
        return self._log_channel

    def set_hexdump(self, hexdump: bool) -> None:
        self._hexdump = bool(hexdump)
        self._conn.packet_observer = self._dump_packet if hexdump else None

    def get_hexdump(self) -> bool:
        return self._hexdump

    def _dump_packet(self, direction: str, seq: int, payload: bytes) -> None:
        if not self._log.isEnabledFor(logging.DEBUG):
            return
        name = m.message_name(payload[0]) if payload else "EMPTY"
        lines = [f"{direction} seq={seq} {name} ({len(payload)} bytes)"]
        for off in range(0, min(len(payload), 512), 16):
            chunk = payload[off : off + 16]
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
            lines.append(f"  {off:04x}  {chunk.hex(' '):<47}  {text}")
        self._log.debug("\n".join(lines))


__all__ = ["ChannelException", "Transport"]
