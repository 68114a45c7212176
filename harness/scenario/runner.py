"""The scenario driver: one socket, one sans-I/O Connection, deadlines on every wait.

The runner owns the socket to the peer and a :class:`Connection` with ``emit_messages`` on, so
everything the peer does arrives as events (``MessageReceived`` per decoded message, plus the
semantic events of the core) appended to ``log`` in order. Steps never touch the socket: they
call :meth:`Context.flush`, :meth:`Context.wait_for` and the core's seams. Every byte both ways
is decoded into a transcript that failure messages carry.
"""

from __future__ import annotations

import random
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.capture import wrap_for_capture
from harness.scenario import tampers as tp
from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.connection import Connection
from harness.ssh.errors import DisconnectReason, RemoteProtocolError, SSHException
from harness.ssh.phases import Role
from harness.ssh.wire import messages as m


class StepFailure(AssertionError):
    """A step did not see what it expected; the message is the whole story."""


class NotApplicableHere(Exception):
    """A step found, while running, that the scenario cannot be played against this peer (a
    client that grants a 2 GiB window cannot be overfilled in useful time). The cell is n/a
    with this reason: neither a verdict on the peer nor an outcome to pin."""


@dataclass
class Closed(ev.Event):
    """Pseudo-event: the TCP stream ended (EOF or reset)."""

    how: str = "EOF"


@dataclass
class LocalError(ev.Event):
    """Pseudo-event: our core refused what the peer sent (RemoteProtocolError)."""

    error: Exception = field(default_factory=Exception)


@dataclass
class PeerText(ev.Event):
    """Pseudo-event: after its identification line the peer wrote a text line where its first
    binary packet belongs (OpenSSH's "Protocol major versions differ: 2 vs. 1"). That is the
    peer refusing in words, not a framing error of ours: it is logged instead of a LocalError."""

    text: str = ""


def text_instead_of_packet(conn: Connection) -> str | None:
    """The text the peer wrote instead of its first binary packet, or None.

    Only before any binary packet arrived (nothing else can be a text line), and only when
    every unparsed byte is printable ASCII or line-end: a garbled packet stays our error."""
    if conn.peer_version_line is None or conn.reader.seq != 0 or conn.kex.count:
        return None
    raw = conn.reader.take_raw()
    if not raw or not (0x21 <= raw[0] < 0x7F) or any(not (0x20 <= b < 0x7F or b in b"\r\n\t") for b in raw):
        conn.reader.feed(raw)  # not text: leave the bytes where they were
        return None
    return raw.decode("ascii").strip()


def describe_event(e: ev.Event) -> str:
    if isinstance(e, ev.MessageReceived):
        return f"{e.message!r} [seq {e.seq}]"
    if isinstance(e, Closed):
        return f"connection closed ({e.how})"
    if isinstance(e, PeerText):
        return f"text line {e.text!r} instead of a binary packet"
    if isinstance(e, LocalError):
        return f"our core rejected the peer's input: {type(e.error).__name__}: {e.error}"
    if isinstance(e, ev.PeerViolation):
        return f"(our normal core would refuse that with {reason_name(e.reason)}: {e.description})"
    return repr(e)


def reason_name(code: int) -> str:
    try:
        return f"{DisconnectReason(code).name}({code})"
    except ValueError:
        return f"unknown reason {code}"


class Transcript:
    """Decoded record of both directions (and notes), attached to every failure."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.lines: list[str] = []

    def add(self, direction: str, text: str) -> None:
        self.lines.append(f"{time.monotonic() - self.start:8.3f} {direction} {text}")

    def text(self, limit: int = 400) -> str:
        lines = self.lines
        if len(lines) > limit:
            half = limit // 2
            lines = [*lines[:half], f"... {len(lines) - limit} lines omitted ...", *lines[-half:]]
        return "\n".join(lines)


class Context:
    """What a step sees: the peer, the connection, the event log, named channels, the rng."""

    def __init__(self, info: Any, seed: int, timeout: float = 5.0, role: str = "client",
                 target: Any = None) -> None:  # fmt: skip
        self.info = info
        self.seed = seed
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.role = role
        self.target = target  # server-role: how to get a client peer to connect
        self.sock: socket.socket | None = None
        self.conn: Connection | None = None
        self.log: list[ev.Event] = []
        self.expect_pos = 0  # first log index not yet consumed by an expectation
        self.closed = False
        self.channels: dict[str, int] = {}
        self.vars: dict[str, Any] = {}
        self.transcript = Transcript()
        self.step_label = ""
        self.outcomes: list[str] = []  # OneOf branch names taken
        # What expectations observed the peer do, in the outcome vocabulary (harness.scenario.outcome).
        self.observations: list[str] = []
        self.sent_seqs: set[int] = set()  # every packet we sent (UNIMPLEMENTED "seq ours")
        self.stimulus_seq: int | None = None  # the packet of the scenario's last Send (SentSeq())
        self.fail_start: int | None = None  # log index where the failing step began waiting
        self.fail_waited: float | None = None  # how long it waited in silence
        self.stream_tampers: list[tp.Tamper] = []
        # HoldAfterNewKeys: the key exchange count when armed; from our next NEWKEYS on, output
        # stays in the core until ReleaseHeld writes it in one piece.
        self.hold_after_newkeys: int | None = None
        self.last_sent_seq: int | None = None
        self.cleanups: list[Callable[[], None]] = []
        self.strict_kex = False  # offer strict kex on this scenario's connections (Scenario.strict_kex)

    # -- set-up ---------------------------------------------------------------------------

    def new_connection(self, config: ConnectionConfig, sock: socket.socket, role: Role = Role.CLIENT,
                       policy: Any = None) -> Connection:  # fmt: skip
        config.emit_messages = True
        config.observe = True  # watch the peer: never let our own refusal stand for its reaction
        conn = Connection(role, self.rng.randbytes, config, policy)
        conn.packet_observer = self._observe
        sock = wrap_for_capture(sock, conn, role is Role.CLIENT)  # unchanged unless $HARNESS_PCAP_DIR is set
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stalls
        self.sock, self.conn = sock, conn
        return conn

    def _observe(self, direction: str, seq: int, payload: bytes) -> None:
        conn = self.conn
        try:
            if payload[:1] == b"\x14":
                msg: Any = m.KexInit.decode(payload)
            else:
                assert conn is not None
                msg = m.decode_message(payload, conn.kex.context, conn.auth.context)
            text = repr(msg)
        except Exception as exc:  # a deliberately broken payload we send, or garbage from the peer
            name = m.message_name(payload[0]) if payload else "EMPTY"
            text = f"{name} <undecodable {len(payload)} bytes: {exc}> {payload[:32].hex()}"
        if direction == "out":
            self.last_sent_seq = seq
            self.sent_seqs.add(seq)
            record = getattr(self.target, "record_sent", None)  # a client peer's injection check
            if callable(record):
                record(payload)
        self.transcript.add("<<" if direction == "in" else ">>", f"[seq {seq}] {text}")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    # -- description ----------------------------------------------------------------------

    def phase(self) -> str:
        conn = self.conn
        if conn is None:
            return "not connected"
        text = conn.phase.value
        if conn.kex.in_progress and conn.phase.value != "first key exchange":
            text += ", key re-exchange running"
        return text

    def note(self, text: str) -> None:
        self.transcript.add("--", text)

    # -- output ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write whatever the core produced, through any armed stream tamper."""
        conn, sock = self.conn, self.sock
        if conn is None or sock is None or self._holding(conn):
            return
        data = conn.data_to_send()
        if not data:
            return
        chunks: list[tuple[bytes, float]] = [(data, 0.0)]
        if self.stream_tampers:
            tamper = self.stream_tampers[0]
            chunks = tamper.chunks(data)  # type: ignore[attr-defined]
            tamper.count -= 1
            if tamper.count <= 0:
                self.stream_tampers.pop(0)
            self.note(f"stream tamper {tamper.describe()}: {len(data)} bytes as {len(chunks)} write(s)")
        try:
            for chunk, pause in chunks:
                if chunk:
                    sock.sendall(chunk)
                if pause:
                    time.sleep(pause)
        except OSError as exc:
            self.note(f"write failed: {exc}")
            # What the peer sent before it went away (its DISCONNECT, say) is still readable and
            # comes first: the write failing is the consequence, not the peer's reaction.
            while not self.closed and self._read_once(0.0):
                pass
            self._closed(f"write failed: {exc}")

    def _holding(self, conn: Connection) -> bool:
        """Output is held once our NEWKEYS is queued (an exchange counted since arming means it
        was queued too, even when the peer's NEWKEYS completed the exchange in the same read)."""
        armed = self.hold_after_newkeys
        return armed is not None and (conn.kex.sent_newkeys or conn.kex.count > armed)

    def _closed(self, how: str) -> None:
        if not self.closed:
            self.closed = True
            self.log.append(Closed(how))
            self.transcript.add("<<", f"connection closed ({how})")
            if self.conn is not None:
                self.conn.receive_eof()
                self._drain()

    def _drain(self) -> None:
        assert self.conn is not None
        conn = self.conn
        while (event := conn.next_event()) is not None:
            self.log.append(event)
            if isinstance(event, ev.PeerViolation):
                self.transcript.add("!!", describe_event(event))
            if isinstance(event, ev.ChannelData) and not self.vars.get("no_consume"):
                conn.channels.consumed(event.channel, len(event.data))  # re-grant window as we read

    # -- input ----------------------------------------------------------------------------

    def pump(self, deadline: float) -> bool:
        """Read once (until ``deadline``); feed the core; log events. False when nothing came."""
        self.flush()
        came = self._read_once(max(0.0, deadline - time.monotonic()))
        if came and not self.closed:
            self.flush()
        return came

    def _read_once(self, timeout: float) -> bool:
        """One read (waiting up to ``timeout``) fed to the core. False when nothing came."""
        if self.closed or self.sock is None or self.conn is None:
            return False
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return False
        try:
            data = self.sock.recv(1 << 16)
        except OSError as exc:
            self._closed(f"reset: {exc}")
            return True
        if not data:
            self._closed("EOF")
            return True
        try:
            self.conn.receive_data(data)
        except RemoteProtocolError as exc:
            text = text_instead_of_packet(self.conn)
            if text is not None:
                # The peer left the binary protocol first: withhold our core's DISCONNECT so the
                # close that follows stays the peer's own (DESIGN.md, "know the closer").
                self.conn.data_to_send()
                self.log.append(PeerText(text=text))
                self.transcript.add("<<", f"text line {text!r} (our core's DISCONNECT for it withheld)")
            else:
                self._drain()  # what the core saw before it refused comes first (who deviated first)
                self.log.append(LocalError(exc))
                self.transcript.add("!!", f"our core rejected the peer's input: {type(exc).__name__}: {exc}")
        except SSHException as exc:  # e.g. host key verification: still the peer's doing
            self._drain()
            self.log.append(LocalError(exc))
            self.transcript.add("!!", f"{type(exc).__name__}: {exc}")
        self._drain()
        return True

    @property
    def stimulus_seqs(self) -> set[int]:
        return self.sent_seqs

    def wait_for(self, predicate: Callable[[ev.Event], bool], timeout: float | None = None,
                 start: int | None = None, stop_on_close: bool = True) -> tuple[int, ev.Event] | None:  # fmt: skip
        """First logged event from ``start`` satisfying ``predicate``, pumping until the deadline."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        index = self.expect_pos if start is None else start
        while True:
            while index < len(self.log):
                event = self.log[index]
                if predicate(event):
                    return index, event
                index += 1
            if self.closed and stop_on_close:
                return None
            if time.monotonic() >= deadline:
                return None
            self.pump(deadline)

    def settle(self, seconds: float) -> None:
        """Keep reading for ``seconds`` (lets the peer's answers arrive)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.closed:
            self.pump(deadline)

    # -- failure --------------------------------------------------------------------------

    def since(self, index: int) -> list[ev.Event]:
        return self.log[index:]

    def observe(self, outcome: str) -> None:
        """Record what the peer was seen to do (the cell's outcome unless a later one follows)."""
        self.observations.append(outcome)
        self.note(f"observed: {outcome}")

    def fail(self, expected: str, start: int, extra: str = "", waited: float | None = None) -> StepFailure:
        self.fail_start = start
        self.fail_waited = waited
        shown = ev.MessageReceived | Closed | LocalError | ev.PeerViolation | PeerText
        arrived = [e for e in self.log[start:] if isinstance(e, shown)]
        got = "; ".join(describe_event(e) for e in arrived[:12]) or "nothing"
        if len(arrived) > 12:
            got += f"; ... {len(arrived) - 12} more"
        text = f"{self.step_label}: expected {expected}; got: {got} (phase: {self.phase()})"
        if extra:
            text += f"; {extra}"
        return StepFailure(text)
