"""The self-check's mirror image: server-role scenarios against reference *clients* of our own.

A server-role scenario (our server misbehaves, a client peer reacts) must be able to fail too
(DESIGN.md "Verdicts", rule 5). Each one runs against reference clients made from our own client
(:class:`harness.transport.Transport` in a thread: connect, authenticate with the test password,
run ``true``, close), with contrasting behaviours:

``rfc``       our client as it is: refuses violations with the RFC's reason code; hangs up after
              the server's DISCONNECT
``lenient``   observer mode: ignores what it would refuse and unknown message numbers, and goes
              silent (keeps the connection open) when its run cannot go on or the server
              disconnects
``closer``    hangs up the TCP connection, without DISCONNECT, at the first violation, unknown
              message or failure
``fragile``   hangs up at anything unusual that is no violation: IGNORE, DEBUG, a banner, a
              global request, a key re-exchange it did not start, lines before the version, a
              second exit report, an exit-signal, data after EOF, a second EXT_INFO
``careless``  accepts every channel the server opens and answers a DISCONNECT with its own
``stranger``  trusts another host key, so no key exchange with it completes (breaks the opening)

A reference plugs in where :class:`harness.scenario.peers.ClientTarget` does: ``configure(cfg)``,
``accept(ctx)`` -> (socket, policy), ``cleanup()``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from typing import Any

from harness.peers.testuser import TEST_PASSWORD, TEST_USER
from harness.scenario.client_target import ClientPeerInfo
from harness.scenario.execute import Result, run_one
from harness.scenario.model import SERVER, Scenario
from harness.scenario.selfcheck import CONFIG as SERVER_REFERENCE_CONFIG
from harness.scenario.selfcheck import Verdict, run_cells
from harness.ssh import events as ev
from harness.ssh import policy as pol
from harness.ssh.config import ConnectionConfig

CLIENT_REFERENCES = ("rfc", "lenient", "closer", "fragile", "careless", "stranger")
OPENING_BREAKERS = ("stranger",)  # fails every handshake: counts only for the opening areas
USERNAME, PASSWORD = TEST_USER, TEST_PASSWORD  # what ClientPeerInfo describes
CLOSE_GRACE = 2.0  # how long a reference waits for the server's EOF after the exit status
LINGER = 0.4  # and how long it then lingers for the rest of the server's report
RUN_BOUND = 8.0  # every wait of a reference client's run; its thread ends by then at the latest
# Two cheap kex methods (pure-Python post-quantum ones would make the check slow), the second for
# scenarios that re-exchange with changed preferences.
_KEX = ("curve25519-sha256", "diffie-hellman-group14-sha256")
# The lenient and closer behaviours mean the same on both sides: one table (selfcheck.CONFIG).
_CONFIG: dict[str, dict[str, Any]] = {name: SERVER_REFERENCE_CONFIG[name] for name in ("lenient", "closer")}


class ReferencePolicy(pol.ServerPolicy):
    """What the scenario server allows a reference client: the test password, a session, exec."""

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        return pol.AUTH_SUCCESSFUL if (username, password) == (USERNAME, PASSWORD) else pol.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return pol.OPEN_SUCCEEDED if kind == "session" else pol.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_request_message(self, chanid: int, msg: Any) -> bool:
        return bool(msg.request_type in ("exec", "env"))


def _transport_class() -> type:
    from harness.transport import Transport

    class ReferenceTransport(Transport):
        """Our client with a reference behaviour on top of its event handling."""

        behaviour = "rfc"

        def _on_event(self, event: ev.Event) -> None:
            if self.behaviour == "fragile" and self._unusual(event):
                self.hang_up()
                return
            if self.behaviour == "careless":
                if isinstance(event, ev.ChannelOpenRequested):
                    self._conn.channels.accept_open(event.channel)
                    return
                if isinstance(event, ev.Disconnected) and event.by_peer:
                    from harness.ssh.connection import disconnect_payload

                    self._conn.send_unchecked(disconnect_payload(11, "goodbye to you too"))
            super()._on_event(event)
            if isinstance(event, ev.Disconnected) and event.by_peer and self.behaviour not in ("lenient", "careless"):
                self.hang_up()  # RFC 4253 11.1: nothing more after a DISCONNECT; the lenient one lingers

        def _unusual(self, event: ev.Event) -> bool:
            seen = self.__dict__.setdefault("_seen", set())
            if isinstance(event, ev.IgnoreReceived | ev.DebugReceived | ev.AuthBanner | ev.GlobalRequestReceived
                          | ev.UnimplementedReceived):  # fmt: skip
                return True
            if isinstance(event, ev.VersionReceived):
                return bool(event.pre_banner)
            if isinstance(event, ev.KexStarted):
                return not event.initiated_by_us and self._kex_done >= 1
            if isinstance(event, ev.ExtInfoReceived):
                repeated = "ext_info" in seen
                seen.add("ext_info")
                return repeated
            if isinstance(event, ev.ChannelEof):
                seen.add(("eof", event.channel))
            if isinstance(event, ev.ChannelData):
                return ("eof", event.channel) in seen or event.data_type not in (0, 1)
            if isinstance(event, ev.ChannelRequestReceived):
                key = ("exit", event.channel)
                repeated = key in seen
                seen.add(key)
                return event.request_type != "exit-status" or repeated
            return False

        def hang_up(self) -> None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return ReferenceTransport


class ReferenceClientTarget:
    """Runs one reference client against the scenario's server (a thread, not a process)."""

    def __init__(self, behaviour: str) -> None:
        if behaviour not in CLIENT_REFERENCES:
            raise ValueError(f"unknown reference client {behaviour!r}; choose from {', '.join(CLIENT_REFERENCES)}")
        self.behaviour = behaviour
        self.info = ClientPeerInfo(f"reference-client-{behaviour}", "harness-reference", "0", binary="")
        self.thread: threading.Thread | None = None
        self.transport: Any = None
        self.error: BaseException | None = None
        self.exit_status: int | None = None

    def configure(self, config: ConnectionConfig) -> None:
        from harness.scenario.peers import server_host_key

        config.server_host_keys = [server_host_key()]
        config.apply_server_defaults()

    def accept(self, ctx: Any) -> tuple[socket.socket, pol.ServerPolicy]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.settimeout(RUN_BOUND)
            self.info.port = listener.getsockname()[1]
            client = socket.create_connection(self.info.address, timeout=RUN_BOUND)
            sock, _ = listener.accept()
        ctx.cleanups.append(self.cleanup)
        self.thread = threading.Thread(target=self._run, args=(client,), daemon=True,
                                       name=f"reference-client-{self.behaviour}")  # fmt: skip
        self.thread.start()
        return sock, ReferencePolicy()

    def _run(self, client: socket.socket) -> None:
        config = ConnectionConfig(kex=_KEX, **_CONFIG.get(self.behaviour, {}))
        transport = _transport_class()(client, config=config, timeout=RUN_BOUND)
        transport.behaviour = self.behaviour
        self.transport = transport
        if self.behaviour in ("lenient", "closer"):
            transport.on_violation = (lambda event: None) if self.behaviour == "lenient" else \
                (lambda event: transport.hang_up())  # fmt: skip
        hostkey = None
        if self.behaviour == "stranger":
            from harness.ssh.keys import Ed25519Key

            hostkey = Ed25519Key.generate(bytes(32))  # not the scenario server's key
        try:
            self.login(transport, hostkey)
            chan = transport.open_session(timeout=RUN_BOUND)
            chan.settimeout(RUN_BOUND)
            chan.exec_command("true")
            self.exit_status = chan.recv_exit_status()
            self._await_server_close(transport, chan)
            chan.close()
        except Exception as exc:  # the scenario server misbehaved: how the run ends is the behaviour
            self.error = exc
            if self.behaviour == "lenient":
                return  # silent: the connection stays open until the scenario closes it
            if self.behaviour in ("closer", "fragile"):
                transport.hang_up()
        transport.close()

    def login(self, transport: Any, hostkey: Any) -> None:
        """Key exchange and one password attempt (the self-probe's client tries harder)."""
        transport.connect(hostkey=hostkey, username=USERNAME, password=PASSWORD, timeout=RUN_BOUND)

    @staticmethod
    def _await_server_close(transport: Any, chan: Any) -> None:
        """Let the server finish its side first, as ssh does after an exit status, then linger a
        moment: otherwise whether the rest of its report (a second exit-status, a status after its
        CHANNEL_CLOSE) is read before our own close goes out is a race between two threads, and
        the outcome flips under load."""
        for done, bound in ((lambda: chan.eof_received or chan.closed, CLOSE_GRACE), (lambda: False, LINGER)):
            try:
                transport._wait(lambda done=done: done() or not transport.is_active(), bound, "the server's close")
            except Exception:
                pass  # a server that never closes, or the linger ran out: ours closes, as before

    def cleanup(self) -> None:
        if self.thread is not None:
            self.thread.join(RUN_BOUND + 2)
        if self.transport is not None:
            try:
                self.transport.close()
            except Exception:
                pass

    def report(self) -> dict[str, Any]:
        """How the reference client's run ended (shown in the cell's details)."""
        return {"behaviour": self.behaviour, "exit_status": self.exit_status,
                "error": f"{type(self.error).__name__}: {self.error}" if self.error else None}  # fmt: skip


def server_variants(scenarios: Iterable[Scenario]) -> list[tuple[Scenario, str, dict[str, Any]]]:
    return [(sc, variant, params) for sc in scenarios if sc.role == SERVER for variant, params in sc.variants()]


def check_clients(scenarios: Iterable[Scenario], workers: int = 8, seed: int = 1) -> list[Verdict]:
    """Run every server-role scenario variant against every reference client; one Verdict each."""

    cells = server_variants(scenarios)

    def one(job: tuple[Scenario, str, dict[str, Any], str]) -> tuple[str, str, Result]:
        sc, variant, params, behaviour = job
        target = ReferenceClientTarget(behaviour)
        return variant, behaviour, run_one(sc, variant, params, target.info, seed, None, target)

    return run_cells(cells, CLIENT_REFERENCES, OPENING_BREAKERS, one, workers)
