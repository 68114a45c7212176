"""The self-check: every scenario must be able to fail (DESIGN.md "Verdicts", rule 5).

Each client-role scenario runs against reference peers made from our own server with
contrasting behaviours. A scenario with a verdict must fail against at least one of them, at
its own check: a failure in the shared opening (the ``Login``/``Handshake`` that most
scenarios start with) counts only for scenarios about the key exchange, authentication or the
sanity checks. An informational scenario (no verdict, only a pinned outcome) must see at least
two different outcomes, or its pin could never tell peers apart. A scenario that no behaviour
can fail is a bug in the scenario, and :func:`check` names it.

The references, all our own server over loopback (so the check needs no Docker):

``rfc``       our server as it is: refuses violations with the RFC's reason code
``lenient``   ignores what it would refuse and unknown message numbers; goes silent (keeps the
              connection open, answers nothing) on what it cannot parse
``closer``    hangs up the TCP connection, without DISCONNECT, at the first violation, unknown
              message or unparsable packet
``pedant``    refuses (hangs up) what receivers must tolerate: IGNORE, DEBUG, UNIMPLEMENTED,
              payloads past 16 KiB, odd identification lines, a rekey before login
              (harness/ssh/pedantic.py)
``refuser``   refuses every channel open, channel request and global request; answers global
              requests with UNIMPLEMENTED; and leaves what it read together with a re-exchange's
              NEWKEYS unprocessed until more bytes arrive (all three as tinysshd does)
``denier``    refuses every authentication
``badsig``    signs the exchange hash wrongly, so no key exchange with it completes
"""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.scenario.execute import ERROR, FAIL, NA, Result, run_one
from harness.scenario.model import CLIENT, Scenario
from harness.serve import Listener, ServeConfig, ShellServer
from harness.server import AUTH_FAILED
from harness.ssh import events as ev
from harness.ssh.policy import OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

REFERENCES = ("rfc", "lenient", "closer", "pedant", "refuser", "denier", "badsig")
# Areas whose scenarios check the opening itself: a failure inside Login/Handshake is theirs.
OPENING_AREAS = ("kex", "auth", "sanity")
OPENING_BREAKERS = ("denier", "badsig")  # references that fail every Login/Handshake


class RefusingServer(ShellServer):
    """Authenticates as usual, then says no to everything the connection layer asks."""

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid: int, origin: Any, destination: Any) -> int:
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_global_request(self, kind: str, msg: Any) -> bool:
        return False

    def check_port_forward_request(self, address: str, port: int) -> bool:
        return False


class DenyingServer(ShellServer):
    """Refuses every authentication attempt."""

    def check_auth_password(self, username: str, password: str) -> int:
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: Any) -> int:
        return AUTH_FAILED

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        return AUTH_FAILED


class WrongSigningKey:
    """A host key that signs something other than what it is asked to (a broken server)."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        return self._key.sign(data + b"not the exchange hash", algorithm)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)


SERVER_CLASSES: dict[str, type[ShellServer]] = {"refuser": RefusingServer, "denier": DenyingServer}
CONFIG: dict[str, dict[str, Any]] = {
    "lenient": {"observe": True, "unknown_messages": "ignore", "on_error": "mute"},
    "closer": {"observe": True, "unknown_messages": "violation", "on_error": "close"},
    "pedant": {"observe": True, "pedantic": True, "on_error": "close"},
    "refuser": {"answer_global_requests": False},
}


def _on_violation(behaviour: str, transport: Any) -> Callable[[ev.PeerViolation], None] | None:
    if behaviour == "lenient":
        return lambda event: None  # dropped by the core; nothing else happens
    if behaviour in ("closer", "pedant"):

        def hang_up(event: ev.PeerViolation) -> None:
            try:
                transport.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        return hang_up
    return None


@dataclass
class Reference:
    """One running reference server and the PeerInfo-like description scenarios see."""

    behaviour: str
    info: Any
    listener: Any


@contextmanager
def reference(behaviour: str, workdir: Path, extra_host_keys: Iterable[Any] = ()) -> Iterator[Reference]:
    """Start one reference server on a free loopback port (closed on exit); it holds an Ed25519
    host key, and ``extra_host_keys`` too (the self-probe's server signs with every type)."""
    from harness.peers.base import PeerInfo, client_keys
    from harness.peers.probe import read_server_kexinit
    from harness.ssh.keys import Ed25519Key, parse_public_key_line

    if behaviour not in REFERENCES:
        raise ValueError(f"unknown reference behaviour {behaviour!r}; choose from {', '.join(REFERENCES)}")
    keys = client_keys()
    authorized = [parse_public_key_line(Path(f"{path}.pub").read_text().strip())
                  for name, path in keys.items() if Path(f"{path}.pub").exists()]  # fmt: skip
    host_key = Ed25519Key.generate()
    # Every algorithm we implement, so that per-algorithm scenarios are checked too.
    config = ServeConfig(username="sshharness", password="harness-Test-pw-4711", authorized_keys=authorized,
                         cwd=str(workdir), all_algorithms=True)  # fmt: skip
    host_keys = [host_key, *extra_host_keys]
    listener = BehaviourListener(host_keys, config, behaviour)
    listener.start()
    try:
        host, port = listener.address
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text("".join(f"[{host}]:{port} {key.public_key.to_openssh_line()}\n" for key in host_keys))
        info = PeerInfo(
            peer_id=f"reference-{behaviour}", product="harness-reference", version="0", host=host, port=port,
            banner="", username=config.username, password=config.password or "", host_public_keys={},
            client_keys=keys, known_hosts=known_hosts, algorithms=read_server_kexinit(host, port, 5.0),
            workdir=workdir, log_path=workdir / "log", home=workdir,
            extra={"auth_methods": "publickey,password,keyboard-interactive"},
        )  # fmt: skip
        yield Reference(behaviour, info, listener)
    finally:
        listener.close()


class EofDeafSocket(socket.socket):
    """A server socket that does not notice the client's FIN for a while (the ``lenient``
    reference waits for the rest of a packet that will never come, as a careless server would)."""

    deaf_seconds = 8.0  # longer than any scenario waits; then the EOF is seen and the thread ends
    _eof_at: float | None = None

    def recv(self, size: int, flags: int = 0) -> bytes:
        data = super().recv(size, flags)
        if data:
            return data
        now = time.monotonic()
        if self._eof_at is None:
            self._eof_at = now
        if now - self._eof_at >= self.deaf_seconds:
            return data
        time.sleep(0.2)
        raise TimeoutError("EOF ignored")  # the driver treats it as an idle tick


class NewKeysLaggardSocket(socket.socket):
    """A server socket for the ``refuser``: what arrives in one read with the client's NEWKEYS of
    a key re-exchange waits until more bytes arrive, as in tinysshd (it finishes the exchange,
    then waits for its socket to be readable before it looks at what it already read).

    While a re-exchange runs, bytes go to the core one at a time, so the read after the one that
    completed the exchange can see what is left over; that rest is then held back until the
    next bytes come from the client (rekey/packet_behind_newkeys)."""

    transport: Any = None  # set by BehaviourListener._track; its core is looked up per read
    _left = b""
    _exchanges = 0  # completed key exchanges when the last bytes were handed out

    def recv(self, size: int, flags: int = 0) -> bytes:
        kex = self.transport._conn.kex if self.transport is not None else None
        if self._left and kex is not None and kex.count > self._exchanges:
            data = super().recv(size, flags)  # blocks; a timeout leaves the rest held
            self._left, data = b"", self._left + data
        elif self._left:
            data, self._left = self._left, b""
        else:
            data = super().recv(size, flags)
        if kex is not None and kex.in_progress and kex.count >= 1 and len(data) > 1:
            data, self._left = data[:1], data[1:]
        self._exchanges = kex.count if kex is not None else 0
        return data


class BehaviourListener(Listener):
    """Our server's accept loop, with the reference behaviour set on every connection."""

    def __init__(self, host_keys: list[Any], config: ServeConfig, behaviour: str) -> None:
        if behaviour == "badsig":
            host_keys = [WrongSigningKey(key) for key in host_keys]
        super().__init__(host_keys, config)
        self.behaviour = behaviour
        self.server_cls = SERVER_CLASSES.get(behaviour)

    def _one(self, conn: socket.socket, origin: Any) -> None:
        if self.behaviour == "lenient":
            conn = EofDeafSocket(conn.family, conn.type, conn.proto, fileno=conn.detach())
        elif self.behaviour == "refuser":
            conn = NewKeysLaggardSocket(conn.family, conn.type, conn.proto, fileno=conn.detach())
        super()._one(conn, origin)

    def _track(self, transport: Any) -> None:
        super()._track(transport)
        if isinstance(transport.sock, NewKeysLaggardSocket):
            transport.sock.transport = transport
        for name, value in CONFIG.get(self.behaviour, {}).items():
            setattr(transport._config, name, value)
        transport.on_violation = _on_violation(self.behaviour, transport)


@dataclass
class Verdict:
    """What the self-check found for one scenario variant."""

    variant: str
    results: dict[str, Result]
    informational: bool

    @property
    def ran(self) -> dict[str, Result]:
        return {name: r for name, r in self.results.items() if r.status != NA}

    area: str = ""

    @property
    def failed_by(self) -> list[str]:
        """The references against which the scenario's own check failed."""
        return [name for name, r in self.ran.items() if r.status in (FAIL, ERROR) and self._own(r)]

    def _own(self, result: Result) -> bool:
        """Did the scenario's own check fail, rather than the shared Login/Handshake opening?"""
        if self.area in OPENING_AREAS:
            return True
        step = result.message.removeprefix("harness-side ending: ").split(":", 1)[0]
        return not (step.startswith("step 1/") and ("Login" in step or "Handshake" in step))

    @property
    def can_fail(self) -> bool:
        if not self.ran:
            return True  # nothing to judge: reported as unchecked
        if self.informational:
            return len({r.outcome for r in self.ran.values() if r.status == "pass" or self._own(r)}) >= 2
        return bool(self.failed_by)

    @property
    def unchecked(self) -> bool:
        return not self.ran

    def describe(self) -> str:
        parts = [f"{name}: {r.status} ({r.outcome or r.reason or '-'})" for name, r in self.results.items()]
        return f"{self.variant}: " + "; ".join(parts)


def variants(scenarios: Iterable[Scenario]) -> list[tuple[Scenario, str, dict[str, Any]]]:
    return [(sc, variant, params) for sc in scenarios if sc.role == CLIENT for variant, params in sc.variants()]


def check(scenarios: Iterable[Scenario], workers: int = 32, seed: int = 1) -> list[Verdict]:
    """Run every client-role scenario variant against every reference; one Verdict each."""
    cells = variants(scenarios)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="harness-selfcheck-")))
        refs = {}
        for behaviour in REFERENCES:
            workdir = tmp / behaviour
            workdir.mkdir()
            refs[behaviour] = stack.enter_context(reference(behaviour, workdir))

        def one(job: tuple[Scenario, str, dict[str, Any], str]) -> tuple[str, str, Result]:
            sc, variant, params, behaviour = job
            return variant, behaviour, run_one(sc, variant, params, refs[behaviour].info, seed, None)

        return run_cells(cells, REFERENCES, OPENING_BREAKERS, one, workers)


Job = tuple[Scenario, str, dict[str, Any], str]


def run_cells(cells: list[tuple[Scenario, str, dict[str, Any]]], references: Iterable[str],
              breakers: Iterable[str], one: Callable[[Job], tuple[str, str, Result]],
              workers: int) -> list[Verdict]:  # fmt: skip
    """Every cell against every reference (``one`` runs a job), in parallel; one Verdict per cell.

    The ``breakers`` (references that fail every opening) only meet the scenarios of the opening
    areas: a failure in the shared Login/Handshake says nothing about the others."""
    breakers = tuple(breakers)
    jobs = [(sc, v, p, b) for sc, v, p in cells for b in references
            if sc.area in OPENING_AREAS or b not in breakers]  # fmt: skip
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(one, jobs))
    by_variant: dict[str, dict[str, Result]] = {}
    for variant, behaviour, result in done:
        by_variant.setdefault(variant, {})[behaviour] = result
    return [Verdict(v, by_variant[v], sc.is_informational(p), sc.area) for sc, v, p in cells]
