"""Fuzz target: the connection state machine (phase gate, handler tables, kex/auth/channels).

A *phase* is a connection driven to a point of a recorded real session by replaying the
transcript with its fixed seed (``corpus/transcripts``), optionally stopping part-way through a
step, packet-exactly. Each phase is built once, snapshotted (:mod:`harness.fuzz.snapshot`) and
restored in place before every input, so an input costs microseconds, not a key exchange.
The fuzzed packets then come from a fake peer that seals them with exactly the protection the
connection expects (the keys it derived, ``KexEngine.last_incoming``), so they reach the phase
gate and the handler tables instead of dying on a MAC check. A fuzzed key exchange that
completes switches the fake peer to the new keys too.

Input: ``[phase code][mode][4 chunk sizes][records...]``; records are 2-byte-length-prefixed
(:func:`harness.fuzz.common.split_records`). In the version phase the first record is raw bytes
(identification line and anything around it). ``mode``: bits 0-1 feeding (whole packet per
call, byte by byte, fuzzer-chosen chunks, or several packets per call), bits 2-3 framing
(payload framed normally, twice; the record is a whole plaintext packet that is only sealed;
the record is raw wire bytes), bit 4 a client application that reacts to events the way the
recorded session went (authenticates, opens a session, runs a command, ...).

Oracle: ``receive_data`` raises nothing or a ``RemoteProtocolError``. After one, the connection
is closed, its ``disconnect_reason`` is the error's reason, the last packet it sent is a
DISCONNECT with that reason ("Protocol mismatch." in the version exchange), and nothing more
is ever sent, whatever arrives next. After the peer's DISCONNECT nothing more is sent either.
Every packet the connection sends decodes under the strict codec.

Speed in a campaign: ``main`` learns the host-key signature checks from the phases and the
seeds, then answers them from what it learned (:mod:`harness.fuzz.recorded` explains why those
are the exact answers); the test suite's replay always checks exactly.

Roles: client phases replay recordings of real OpenSSH and Dropbear servers; server phases
(codes 0x80 and up) replay a scripted session with our own seeded client in memory
(:func:`drive_pair`), until transcripts of real clients against our server exist. Nothing
else here depends on the role.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.fuzz import recorded
from harness.fuzz.common import (
    FEED_BYTES,
    FEED_CHUNKS,
    FEED_WHOLE,
    OracleViolation,
    chunked,
    codec_encoder_functions,
    instrumented,
    split_records,
    uninstrument,
)
from harness.fuzz.phase_random import PhaseRandom
from harness.fuzz.snapshot import Snapshot

with instrumented():
    from harness.fuzz.fake_peer import FakePeer
    from harness.ssh import connection as conn_module
    from harness.ssh import events as ev
    from harness.ssh import policy as pol
    from harness.ssh.config import ConnectionConfig
    from harness.ssh.connection import Connection
    from harness.ssh.crypto import aead, kexprims
    from harness.ssh.crypto import compression as comp
    from harness.ssh.crypto import protection as prot
    from harness.ssh.errors import DecodeError, LocalProtocolError, RemoteProtocolError
    from harness.ssh.kex import exchange
    from harness.ssh.packet.framing import IDENTITY, PacketReader, PacketWriter
    from harness.ssh.packet.version import VersionReader
    from harness.ssh.phases import Phase, Role
    from harness.ssh.wire import messages as m
    from harness.ssh.wire.codec import Reader
    from harness.transcript import Step, Transcript, _act, _config, seeded_randbytes

# The fake peer's sealing is the oracle's tooling, not code the fuzzer explores (the same
# functions frame the connection's own output, whose path the input does not steer).
# The encoder too: the handlers (instrumented) decide which messages go out; how a message
# becomes bytes is the codec target's business and its coverage steers nothing here. And the
# packet layer's parsing (framing, openers, inflating, the identification line's buffering
# loop): the packet target explores it under every protection, feeding and lying length
# field; here it only hands payloads (or the line, whose parsing ``_line`` stays instrumented)
# to the phase gate, and its edges cost about a tenth of every input, most in byte mode. The
# pass-through "compression" before zlib starts has no branch worth a trace. The connection's
# own decisions about the packet layer (set_protection at NEWKEYS, rekey limits) stay
# instrumented.
uninstrument(PacketWriter.frame, aead.ChachaPolySealer.seal, aead._ChachaBase._start,
             aead._ChachaBase._crypt_length, aead.GcmSealer.seal, aead._GcmBase._next_nonce,
             comp.Compressor.compress, *codec_encoder_functions(),
             PacketReader.next_payload, PacketReader.feed, aead.ChachaPolyOpener.packet_length,
             aead.ChachaPolyOpener.open, aead.GcmOpener.packet_length, aead.GcmOpener.open,
             aead._check_aligned, prot._EamOpener.packet_length, prot._EamOpener.open,
             prot._EtmOpener.packet_length, prot._EtmOpener.open, prot._MacKeyed._tag,
             prot._PlainOpener.packet_length, prot._PlainOpener.open, prot._PlainSealer.seal,
             comp.Decompressor.decompress, comp._Identity.compress, comp._Identity.decompress,
             VersionReader.feed)  # fmt: skip
# Plumbing with no decision the input steers (an event queue, the output buffer, the framing
# call and the DISCONNECT and UNIMPLEMENTED bytes after the handler decided to send them, an
# exception's constructor, the codec reader's constructor, key derivation's hashing, a hash
# table lookup and a key-size assertion). Each traced call costs ~150 ns, and these were a
# sixth of every input's traces.
uninstrument(Connection.next_event, Connection.data_to_send, Connection.emit, Connection._frame,
             Connection.send_message, conn_module.disconnect_payload, conn_module.unimplemented_payload,
             RemoteProtocolError.__init__, Reader.__init__, exchange.derive_key, kexprims.hash_function,
             prot._check_sizes)  # fmt: skip
# What a campaign memoizes (harness.fuzz.recorded) runs uninstrumented too, so an input's
# coverage never depends on whether an earlier input filled the memo (they are thin wrappers
# around cryptography; the checks around them, in the kex parties, stay instrumented).
uninstrument(*recorded.memoized_functions())

def _transcripts() -> Path:
    """corpus/transcripts: from $HARNESS_TRANSCRIPTS, a PyInstaller bundle (OSS-Fuzz), or the repo."""
    if os.environ.get("HARNESS_TRANSCRIPTS"):
        return Path(os.environ["HARNESS_TRANSCRIPTS"])
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "corpus" / "transcripts"
    from harness.resources import data_path

    return data_path("corpus", "transcripts")


TRANSCRIPTS = _transcripts()
HEADER = 6  # phase code, mode, four chunk sizes
# Packets per input at most (the rest is ignored): a whole recorded session from a phase to
# its end is 17; the mutator's runs of empty records otherwise make inputs of hundreds of
# packets that cost milliseconds and reach nothing a shorter one does not.
MAX_RECORDS = 32
# Ciphers whose per-direction objects carry no stream state between packets that a snapshot
# could not restore (ChaCha20 rewinds per packet; GCM's counter is a Python attribute).
RESTORABLE_CIPHERS = frozenset({"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com",
                                "aes256-gcm@openssh.com", "none"})  # fmt: skip
FRAME_PAYLOAD, FRAME_PAYLOAD_2, FRAME_SEALED_PACKET, FRAME_RAW = 0, 1, 2, 3
FEED_BATCH = 3
MODE_APP = 0x10  # a client application reacts to events (see _app)
# Payload numbers after which the expected protection may change (NEWKEYS; USERAUTH_SUCCESS
# starts delayed compression): a batch of packets is cut after them.
_BATCH_BREAKERS = frozenset({20, 21, 52})


@dataclass(frozen=True)
class PhaseSpec:
    """How to reach one phase from a transcript.

    Replay ``steps`` whole steps; then run the next step's action (or ``action`` instead) and,
    if ``after`` is not None, feed that step's incoming bytes one at a time until a packet with
    message number ``after`` has been processed (:data:`VERSION_LINE`: until the peer's
    identification line is complete). The rest of the recording is dropped: the fuzzer's
    packets take its place.
    """

    code: int
    name: str
    role: Role
    transcript: str
    steps: int
    after: int | None = None
    action: tuple[str, ...] | None = None
    fresh_zlib: bool = False  # restart the incoming zlib stream so the fake peer can compress
    # Finite-field Diffie-Hellman in Python costs milliseconds per input that reaches it; such
    # phases run in their own fuzzer (fuzz_connection_dh) so they do not starve the others.
    slow: bool = False
    # Kex methods offered from then on: rekeys the fuzzer provokes use fast methods (the
    # pure-Python sntrup761 costs ~100 ms per exchange; its own KATs live in tests/crypto).
    # Finite-field DH is left out too: generating our 2048-bit public value costs ~2 ms, the
    # price of 20 ordinary inputs; its messages are connection_dh's phases.
    kex: tuple[str, ...] = ("curve25519-sha256", "ecdh-sha2-nistp256")
    description: str = ""


VERSION_LINE = -1
KEXINIT, SERVICE_ACCEPT = 20, 6
# Client phases. Codes are stable: seeds and regression inputs name their phase by code.
_OSSH = "openssh/kex-curve25519-sha256.json"
_DBR = "dropbear/kex-curve25519-sha256.json"
PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(0x00, "version", Role.CLIENT, _OSSH, 0, None, ("start",),
              description="started: our identification line and KEXINIT sent, nothing received"),
    PhaseSpec(0x01, "kexinit", Role.CLIENT, _OSSH, 0, VERSION_LINE,
              description="peer's identification line received, waiting for its KEXINIT"),
    PhaseSpec(0x02, "kex-curve25519", Role.CLIENT, _OSSH, 0, KEXINIT,
              description="first kex, curve25519 (ecdh context): KEXINITs exchanged, ECDH_INIT sent"),
    PhaseSpec(0x03, "kex-nistp256", Role.CLIENT, "openssh/kex-ecdh-sha2-nistp256.json", 0, KEXINIT,
              description="first kex, ecdh-sha2-nistp256 (ecdh context)"),
    PhaseSpec(0x04, "kex-dh-group14", Role.CLIENT, "openssh/kex-diffie-hellman-group14-sha256.json", 0, KEXINIT,
              slow=True, description="first kex, diffie-hellman-group14-sha256 (dh context): KEXDH_INIT sent"),
    PhaseSpec(0x05, "kex-gex", Role.CLIENT, "openssh/kex-diffie-hellman-group-exchange-sha256.json", 0, KEXINIT,
              slow=True, description="first kex, group exchange (gex context): GEX_REQUEST sent, group awaited"),
    PhaseSpec(0x06, "kex-curve25519-dropbear", Role.CLIENT, _DBR, 0, KEXINIT,
              description="first kex against Dropbear's recording (different KEXINIT and order)"),
    PhaseSpec(0x10, "userauth", Role.CLIENT, _OSSH, 1,
              description="first kex done (chacha20-poly1305), SERVICE_REQUEST sent"),
    PhaseSpec(0x11, "auth-password", Role.CLIENT, _OSSH, 1, SERVICE_ACCEPT,
              description="SERVICE_ACCEPT received, password request awaiting its reply (password context)"),
    PhaseSpec(0x12, "auth-publickey", Role.CLIENT, _OSSH, 1, SERVICE_ACCEPT, ("publickey_query",),
              description="publickey query awaiting PK_OK or FAILURE (publickey context)"),
    PhaseSpec(0x13, "auth-kbdint", Role.CLIENT, _OSSH, 1, SERVICE_ACCEPT, ("keyboard_interactive",),
              description="keyboard-interactive awaiting INFO_REQUEST (keyboard-interactive context)"),
    PhaseSpec(0x14, "auth-password-dropbear", Role.CLIENT, _DBR, 1, SERVICE_ACCEPT,
              description="Dropbear: password request awaiting its reply"),
    PhaseSpec(0x20, "connected", Role.CLIENT, _OSSH, 4,
              description="authenticated, session channel 0 open running `cat`"),
    PhaseSpec(0x21, "rekey", Role.CLIENT, _OSSH, 5, KEXINIT,
              description="authenticated with channel 0 open, rekey running (KEXINITs exchanged)"),
    PhaseSpec(0x22, "connected-gcm", Role.CLIENT, "openssh/ciphers-aes256-gcm_at_openssh.com.json", 4,
              description="authenticated with channel 0 open, aes256-gcm both ways"),
    PhaseSpec(0x23, "connected-zlib", Role.CLIENT, "openssh/compression-zlib_at_openssh.com.json", 4,
              fresh_zlib=True, description="authenticated with channel 0 open, zlib@openssh.com active"),
    PhaseSpec(0x24, "connected-dropbear", Role.CLIENT, _DBR, 4,
              description="Dropbear: authenticated, session channel 0 open running `cat`"),
)
# Server phases (codes 0x80..0xff). No transcript of a real client talking to our server exists
# yet, so the recorded peer is our own client in memory, seeded: the session replays byte for
# byte just the same ("pair" below). Steps of the scripted session: start, then SERVER_SCRIPT.
PAIR = "pair"
PHASES += (
    PhaseSpec(0x80, "server-version", Role.SERVER, PAIR, 0, None, ("start_server_only",),
              description="server started, nothing received; the first record is raw bytes"),
    PhaseSpec(0x81, "server-kexinit", Role.SERVER, PAIR, 0, VERSION_LINE,
              description="server: client's identification line received"),
    PhaseSpec(0x82, "server-kex", Role.SERVER, PAIR, 0, KEXINIT,
              description="server: KEXINITs exchanged, waiting for the client's ECDH_INIT"),
    PhaseSpec(0x90, "server-userauth", Role.SERVER, PAIR, 1,
              description="server: first kex done, SERVICE_ACCEPT sent, waiting for USERAUTH_REQUEST"),
    PhaseSpec(0x91, "server-auth-kbdint", Role.SERVER, PAIR, 1, None, ("keyboard_interactive",),
              description="server: INFO_REQUEST sent, waiting for INFO_RESPONSE (keyboard-interactive)"),
    PhaseSpec(0xA0, "server-connected", Role.SERVER, PAIR, 3,
              description="server: client authenticated, session channel 0 open"),
    PhaseSpec(0xA1, "server-exec", Role.SERVER, PAIR, 4,
              description="server: exec request on channel 0 answered"),
)
PHASES_ENV = "HARNESS_FUZZ_PHASES"  # comma-separated phase names: focus a campaign


@dataclass(frozen=True)
class Selection:
    """The phases a fuzzer's inputs map to. An input's code byte names its phase; a code
    outside the selection maps to ``phases[code % len(phases)]``."""

    phases: tuple[PhaseSpec, ...]
    max_records: int = MAX_RECORDS  # packets per input at most

    @classmethod
    def of(cls, slow: bool | None, max_records: int = MAX_RECORDS) -> Selection:
        """Fast phases (False), slow ones (True) or all (None); ``HARNESS_FUZZ_PHASES`` overrides."""
        names = [n for n in os.environ.get(PHASES_ENV, "").split(",") if n]
        if names:
            chosen = tuple(p for p in PHASES if p.name in names)
        else:
            chosen = tuple(p for p in PHASES if slow is None or p.slow == slow)
        if not chosen:
            raise ValueError(f"no phase selected ({PHASES_ENV}={names})")
        return cls(chosen, max_records)

    def phase_for(self, code: int) -> PhaseSpec:
        return self._by_code.get(code) or self.phases[code % len(self.phases)]

    @functools.cached_property
    def _by_code(self) -> dict[int, PhaseSpec]:
        return {spec.code: spec for spec in self.phases}


PHASE_BY_CODE: dict[int, PhaseSpec] = {p.code: p for p in PHASES}


# -- driving a connection through a transcript ------------------------------------------------


def _extra_action(conn: Connection, action: tuple[str, ...]) -> None:
    """Actions the transcripts do not record, used to reach other auth contexts."""
    name = action[0]
    if name == "publickey_query":
        from harness.ssh.keys import Ed25519Key

        key = Ed25519Key.generate(seed=bytes(32))
        conn.auth.publickey_query("fuzz", "ssh-ed25519", key.asbytes())
    elif name == "keyboard_interactive":
        conn.auth.keyboard_interactive("fuzz")
    else:
        _act(conn, name, list(action[1:]))


Observer = Callable[[str, int, bytes], None]


def drive(transcript: Transcript, spec: PhaseSpec | None = None, observer: Observer | None = None,
          on_start: Callable[[Connection], None] | None = None) -> Connection:  # fmt: skip
    """Replay ``transcript`` up to ``spec``'s point (all of it when None), calling ``observer``.

    Unlike :func:`harness.transcript.replay` this can stop between two packets of a step and
    replace a step's action; it does not compare our output with the recording (a replaced
    action changes it), which ``tests/core/test_replay.py`` already does for whole sessions.
    """
    role = spec.role if spec is not None else Role.CLIENT
    conn = Connection(role, PhaseRandom(transcript.seed).randbytes, _config(transcript.config))
    conn.packet_observer = observer
    if on_start is not None:
        on_start(conn)
    steps: list[Step] = transcript.steps if spec is None else transcript.steps[: spec.steps]
    for step in steps:
        _act(conn, step.action, step.args)
        for chunk in step.incoming:
            conn.receive_data(bytes.fromhex(chunk))
        conn.data_to_send()
    if spec is not None and (spec.after is not None or spec.action is not None):
        step = transcript.steps[spec.steps]
        if spec.action is not None:
            _extra_action(conn, spec.action)
        else:
            _act(conn, step.action, step.args)
        if spec.after is not None:
            _feed_until(conn, bytes.fromhex("".join(step.incoming)), spec.after)
    conn.packet_observer = None
    conn.data_to_send()
    while conn.next_event() is not None:
        pass
    return conn


SERVER_USER, SERVER_PASSWORD = "fuzz", "fuzz"
# The client's steps after "start" in the scripted in-memory session (server phases).
SERVER_SCRIPT: tuple[tuple[str, ...], ...] = (
    ("start",), ("auth_password",), ("open_session",), ("exec",), ("send",), ("eof",), ("disconnect",),
)


class FuzzPolicy(pol.ServerPolicy):
    """What the fuzzed server allows: password and keyboard-interactive for one user, sessions."""

    def get_allowed_auths(self, username: str) -> str:
        return "password,keyboard-interactive,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        return pol.AUTH_SUCCESSFUL if (username, password) == (SERVER_USER, SERVER_PASSWORD) else pol.AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> pol.InteractiveQuery:
        query = pol.InteractiveQuery("login", "answer")
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        return pol.AUTH_SUCCESSFUL if responses == [SERVER_PASSWORD] else pol.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return pol.OPEN_SUCCEEDED if kind == "session" else pol.OPEN_FAILED_UNKNOWN_CHANNEL_TYPE

    def check_channel_request_message(self, chanid: int, msg: m.Message) -> bool:
        return msg.request_type in ("exec", "shell", "pty-req", "env", "subsystem")


def _pair_client_act(client: Connection, action: tuple[str, ...]) -> None:
    name = action[0]
    if name == "start":
        client.start()
    elif name == "auth_password":
        client.auth.password(SERVER_USER, SERVER_PASSWORD)
    elif name == "keyboard_interactive":
        client.auth.keyboard_interactive(SERVER_USER)
    elif name == "open_session":
        client.channels.open("session")
    elif name == "exec":
        client.channels.send_request(0, m.ChannelRequestExec(want_reply=True, command=b"cat"))
    elif name == "send":
        client.channels.send_data(0, b"hello\n")
    elif name == "eof":
        client.channels.send_eof(0)
    elif name == "disconnect":
        client.disconnect()
    elif name != "start_server_only":
        raise ValueError(f"unknown scripted action {name!r}")


def _pump(client: Connection, server: Connection) -> None:
    """Move bytes both ways until quiet (events are dropped: prompts stay unanswered)."""
    for _ in range(200):
        c2s, s2c = client.data_to_send(), server.data_to_send()
        if not c2s and not s2c:
            return
        if c2s:
            server.receive_data(c2s)
        if s2c:
            client.receive_data(s2c)
        while client.next_event() is not None:
            pass
        while server.next_event() is not None:
            pass
    raise RuntimeError("the in-memory session does not settle")


def drive_pair(spec: PhaseSpec, observer: Observer | None = None, client_observer: Observer | None = None,
               full: bool = False) -> Connection:  # fmt: skip
    """The server side of a scripted session with our seeded client, stopped at ``spec``'s point.

    ``full`` runs the whole script (for seeds: ``client_observer`` then sees every packet the
    client sends, which is what the fuzzed peer replaces).
    """
    from harness.ssh.keys import Ed25519Key

    fast = ("curve25519-sha256",)
    client = Connection(Role.CLIENT, seeded_randbytes(1), ConnectionConfig(kex=fast))
    config = ConnectionConfig(kex=fast)
    config.server_host_keys = [Ed25519Key.generate(seed=bytes(range(32)))]
    server = Connection(Role.SERVER, PhaseRandom(1001).randbytes, config, FuzzPolicy())
    server.packet_observer = observer
    client.packet_observer = client_observer
    server.start()
    script = SERVER_SCRIPT if full else SERVER_SCRIPT[: spec.steps]
    for action in script:
        _pair_client_act(client, action)
        _pump(client, server)
    if not full and (spec.after is not None or spec.action is not None):
        action = spec.action or SERVER_SCRIPT[spec.steps]
        _pair_client_act(client, action)
        if spec.after is not None:
            _feed_until(server, client.data_to_send(), spec.after)
        elif action[0] != "start_server_only":
            _pump(client, server)
    server.packet_observer = None
    server.data_to_send()
    while server.next_event() is not None:
        pass
    return server


def _feed_until(conn: Connection, data: bytes, after: int) -> None:
    """Feed byte by byte until a packet numbered ``after`` (or the identification line) is processed."""
    seen = [False]
    outer = conn.packet_observer

    def watch(direction: str, seq: int, payload: bytes) -> None:
        if direction == "in" and payload[:1] == bytes([after & 0xFF]):
            seen[0] = True
        if outer is not None:
            outer(direction, seq, payload)

    conn.packet_observer = watch
    for i in range(len(data)):
        conn.receive_data(data[i : i + 1])
        if seen[0] or (after == VERSION_LINE and conn.phase is not Phase.VERSION):
            break
    else:
        raise ValueError(f"the step has no packet {after}")
    conn.packet_observer = outer


@dataclass
class BuiltPhase:
    spec: PhaseSpec
    conn: Connection
    peer: FakePeer
    snapshot: Snapshot
    outgoing: list[tuple[bytes, str | None, str | None]] = field(default_factory=list)


def build_phase(spec: PhaseSpec) -> BuiltPhase:
    since_newkeys = [0]

    def count(direction: str, seq: int, payload: bytes) -> None:
        if direction == "in":
            since_newkeys[0] = 0 if payload[:1] == b"\x15" else since_newkeys[0] + 1

    if spec.transcript == PAIR:
        conn = drive_pair(spec, count)
    else:
        conn = drive(Transcript.load(TRANSCRIPTS / spec.transcript), spec, count)
    if conn.phase is not Phase.VERSION and conn.kex.count:
        conn.config.kex = spec.kex
    incoming = conn.kex.last_incoming
    compressor: Any = IDENTITY
    if incoming is None:
        sealer: Any = prot.null_sealer()
    else:
        cipher, mac, keys = incoming
        outgoing = conn.kex.last_outgoing
        for name in (cipher.name, outgoing[0].name if outgoing else "none"):
            if name not in RESTORABLE_CIPHERS:
                raise ValueError(f"phase {spec.name}: {name} keeps stream state a snapshot cannot restore")
        sealer = prot.make_sealer(cipher, mac, keys.key, keys.iv, keys.mac_key)
        for _ in range(since_newkeys[0]):  # bring a GCM invocation counter to where the peer's is
            sealer.seal(0, bytes(16))
    if spec.fresh_zlib:
        spec_zlib = comp.COMPRESSIONS["zlib@openssh.com"]
        conn.reader.decompressor = comp.make_decompressor(spec_zlib)
        compressor = comp.make_compressor(spec_zlib)
    elif isinstance(conn.reader.decompressor, comp.Decompressor):
        raise ValueError(f"phase {spec.name}: a live zlib stream needs fresh_zlib=True")
    if isinstance(getattr(conn.randbytes, "__self__", None), PhaseRandom):
        conn.randbytes.__self__.freeze()  # type: ignore[attr-defined]
    peer = FakePeer(conn, sealer, compressor)
    return BuiltPhase(spec, conn, peer, Snapshot(conn, peer))


_BUILT: dict[int, BuiltPhase] = {}


def get_phase(spec: PhaseSpec) -> BuiltPhase:
    built = _BUILT.get(spec.code)
    if built is None:
        built = _BUILT[spec.code] = build_phase(spec)
    return built


def build_all(selection: Selection | None = None) -> None:
    for spec in (selection or FAST).phases:
        get_phase(spec)


# -- one input -------------------------------------------------------------------------------------


# Outgoing payloads the strict codec has already accepted, per decode context. The connection
# sends the same few payloads over and over (UNIMPLEMENTED for the same sequence number, the
# same DISCONNECT, SERVICE_REQUEST...); decoding each again is the oracle's work, not the
# fuzzer's, and instrumented it cost as much as handling the packet that caused it.
_SENT_OK: dict[Any, Any] = {}
_SENT_OK_MAX = 4096


def _decode_sent(payload: bytes, conn: Connection) -> m.Message:
    # Only kex-method (30-49) and auth-method (60-79) numbers decode by context.
    number = payload[0] if payload else 0
    if 30 <= number <= 49 or 60 <= number <= 79:
        kex_context, auth_context = conn.kex.context, conn.auth.context
        key: Any = (payload, kex_context, auth_context)
    else:
        kex_context = auth_context = None
        key = payload
    msg = _SENT_OK.get(key)
    if msg is None:
        try:
            msg = m.decode_message(payload, kex_context, auth_context)
        except DecodeError as exc:
            raise OracleViolation(f"sent a malformed {m.message_name(payload[0])}: {exc} ({payload.hex()})") from exc
        if len(_SENT_OK) >= _SENT_OK_MAX:
            _SENT_OK.clear()
        _SENT_OK[key] = msg
    return msg


class _Recorder:
    """The connection's packet observer: checks and keeps every payload it sends."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sent: list[bytes] = []
        self.last: m.Message | None = None  # the last payload sent, decoded

    def __call__(self, direction: str, seq: int, payload: bytes) -> None:
        if direction != "out":
            return
        conn = self.conn
        if conn.phase is Phase.CLOSED and conn.disconnect_reason is not None and self.sent_final():
            raise OracleViolation(f"sent {m.message_name(payload[0])} after its final DISCONNECT")
        self.last = _decode_sent(bytes(payload), conn)
        self.sent.append(payload)

    def sent_final(self) -> bool:
        return bool(self.sent) and self.sent[-1][0] == 1


def _check_fatal(conn: Connection, exc: RemoteProtocolError, rec: _Recorder, before: int, out: bytes) -> None:
    if conn.phase is not Phase.CLOSED:
        raise OracleViolation(f"{type(exc).__name__} raised but the connection is still {conn.phase.value}") from exc
    if conn.disconnect_reason != int(exc.reason):
        raise OracleViolation(f"disconnect_reason {conn.disconnect_reason} is not the error's {int(exc.reason)}")
    new = rec.sent[before:]
    if not new:
        if not out.endswith(b"Protocol mismatch.\r\n"):
            raise OracleViolation(f"{type(exc).__name__} ({exc}) raised without a DISCONNECT") from exc
        return
    last = rec.last
    if not isinstance(last, m.Disconnect) or last.reason != int(exc.reason):
        raise OracleViolation(f"last packet after {type(exc).__name__} is {last!r}, not DISCONNECT") from exc
    if sum(1 for p in new if p[0] == 1) != 1:
        raise OracleViolation("more than one DISCONNECT sent for one error")


def _check_silent_after_close(conn: Connection, rec: _Recorder) -> None:
    conn.data_to_send()  # what it sent before closing
    sent = len(rec.sent)
    try:
        conn.receive_data(b"\x00\x00\x00\x0c\x0a\x02" + bytes(16))  # anything: must be ignored
    except RemoteProtocolError as exc:
        raise OracleViolation(f"closed connection raised on more input: {exc!r}") from exc
    if conn.data_to_send() or len(rec.sent) != sent:
        raise OracleViolation("closed connection sent more bytes")


def _has_version_area(built: BuiltPhase) -> bool:
    """Version phases: the first record is the identification line area, fed raw."""
    return built.spec.after is None and built.spec.steps == 0


def _wire_for(built: BuiltPhase, records: list[bytes], index: int, framing: int, ahead: int = 0) -> bytes:
    record = records[index]
    if index == 0 and _has_version_area(built):
        return record  # version phases: the identification line area, raw
    if framing == FRAME_RAW:
        return record
    if framing == FRAME_SEALED_PACKET:
        return built.peer.seal(record, ahead)
    return built.peer.frame(record, ahead)


def _app(conn: Connection, event: ev.Event) -> None:
    """A client application that carries the session on the way the recorded one went.

    With mode bit 0x10 the fuzzed peer talks to a client that authenticates after the first
    key exchange, opens a session, runs `cat`, sends data, answers keyboard-interactive and
    refuses channels the server opens. Refusals of these calls (LocalProtocolError: the
    state does not allow it) are the application's problem and ignored; anything else is not.
    """
    try:
        if isinstance(event, ev.KexComplete) and event.first:
            conn.auth.password("fuzz", "fuzz")
        elif isinstance(event, ev.AuthFailure):
            conn.auth.keyboard_interactive("fuzz")
        elif isinstance(event, ev.AuthInfoRequest):
            conn.auth.info_response(["fuzz"] * len(event.prompts))
        elif isinstance(event, ev.AuthSuccess):
            conn.channels.open("session")
        elif isinstance(event, ev.ChannelOpened):
            conn.channels.send_request(event.channel, m.ChannelRequestExec(want_reply=True, command=b"cat"))
        elif isinstance(event, ev.ChannelRequestReply) and event.success:
            conn.channels.send_data(event.channel, b"hello\n")
        elif isinstance(event, ev.ChannelData):
            conn.channels.consumed(event.channel, len(event.data))
        elif isinstance(event, ev.ChannelEof):
            conn.channels.close(event.channel)
        elif isinstance(event, ev.ChannelOpenRequested):
            conn.channels.reject_open(event.channel)
        elif isinstance(event, ev.ChannelRequestReceived) and event.want_reply:
            conn.channels.reply_request(event.channel, False)
    except LocalProtocolError:
        pass


def fuzz_one_input(data: bytes) -> None:
    run_input(data, FAST)


def run_input(data: bytes, selection: Selection) -> list[bytes]:
    """Run one input in its phase (restored from the snapshot); returns the payloads sent."""
    if len(data) < HEADER:
        return []
    built = get_phase(selection.phase_for(data[0]))
    built.snapshot.restore()
    return run_on(built, data, selection.max_records)


def _drain(conn: Connection, act: bool) -> None:
    """Take the connection's events (the application reacting to them).

    Its output is not taken: the observer has already checked every packet as it was framed,
    the bytes go nowhere, and the snapshot restore empties the buffer for the next input.
    """
    while (event := conn.next_event()) is not None:
        if isinstance(event, ev.Disconnected) and not event.by_peer:
            raise OracleViolation(f"connection closed itself without raising: {event!r}")
        if act:
            _app(conn, event)


def run_on(built: BuiltPhase, data: bytes, max_records: int = MAX_RECORDS) -> list[bytes]:
    """Feed ``data``'s packets to ``built``'s connection as it is now and check the oracle."""
    mode = data[1]
    sizes = data[2:6]
    records = split_records(data[HEADER:], max_records)
    conn = built.conn
    rec = _Recorder(conn)
    conn.packet_observer = rec
    feed = mode & 3
    framing = (mode >> 2) & 3
    act = bool(mode & MODE_APP) and conn.is_client
    i = 0
    while i < len(records) and conn.phase is not Phase.CLOSED:
        wire = _wire_for(built, records, i, framing)
        i += 1
        if feed == FEED_BATCH:
            # Several packets in one receive_data call, cut where the keys may change.
            ahead = 1
            while (i < len(records) and framing != FRAME_RAW and records[i - 1][:1]
                   and records[i - 1][0] not in _BATCH_BREAKERS):  # fmt: skip
                wire += _wire_for(built, records, i, framing, ahead)
                i += 1
                ahead += 1
        before = len(rec.sent)
        if feed in (FEED_WHOLE, FEED_BATCH):
            chunks: Any = (wire,)
        else:
            # Byte mode feeds the packet's header singly (the bytes the reader needs before it
            # knows the length: 8 in the plaintext phase, the version area included, 4 under
            # ChaCha20 and GCM), then the rest in one piece. That reaches every state of the
            # reader: header incomplete, header read but packet incomplete (the call with the
            # header's last byte), packet complete. A later split point takes the same path
            # as an earlier one, and each single byte costs a call into the connection (16
            # per packet took about 2% more of the whole time than 8). How the line reader
            # copes with every split point of an identification line is the packet target's
            # question (byte by byte up to BYTEWISE_LIMIT); the connection only sees a line
            # not yet complete, or complete with the first packets behind it.
            chunks = chunked(wire, feed, sizes, conn.reader.opener.header_len)
        for chunk in chunks:
            try:
                conn.receive_data(chunk)
            except RemoteProtocolError as exc:
                _check_fatal(conn, exc, rec, before, conn.data_to_send())
                _check_silent_after_close(conn, rec)
                return rec.sent
            if act:  # the application answers events as they come
                _drain(conn, act)
        # Without an application, what arrived is collected once per packet: events only
        # appear when a packet completes, and draining after each of 16 single bytes was a
        # tenth of byte mode's cost.
        _drain(conn, act)
    if conn.phase is Phase.CLOSED:
        _check_silent_after_close(conn, rec)
    return rec.sent


assert (FEED_WHOLE, FEED_BYTES, FEED_CHUNKS) == (0, 1, 2)
FAST = Selection.of(slow=False)


def prepare_campaign(run_one: Callable[[bytes], None], selection: Selection, with_pow: bool,
                     inputs: list[bytes]) -> None:  # fmt: skip
    """What a campaign does before fuzzing (``main`` here and in fuzz_connection_dh, and the
    speed benchmark): put the recorders in place unless ``HARNESS_FUZZ_EXACT=1``
    (:mod:`harness.fuzz.recorded` explains why their answers are the exact ones), build the
    phases (a transcript replay each, outside the measured loop), and learn from ``inputs``."""
    learner = None if recorded.exact_requested() else recorded.install(with_pow=with_pow)
    build_all(selection)
    if learner is not None:
        learner.learn(run_one, inputs)


def prepare(inputs: list[bytes]) -> None:
    """This fuzzer's campaign set-up: signature checks learned; finite-field DH is the other's."""
    prepare_campaign(fuzz_one_input, FAST, False, inputs)


def main() -> None:
    from harness.fuzz.common import corpus_inputs, run

    prepare(corpus_inputs())
    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
