"""The sans-I/O SSH connection: bytes in, events and bytes out.

The connection routes; it does not implement protocol logic. Each incoming packet is checked
against the (role, phase) table in ``phases.py`` before any handler runs, then handed to the
module that owns its message range: ``kex.engine``, ``auth.client``, ``channels.table``.
Whatever the peer sends either works or raises a :class:`RemoteProtocolError` after a
DISCONNECT with the right reason code has been queued; nothing we send violates the protocol
unless a caller uses the explicit ``send_unchecked`` seam.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable

from harness.ssh import events as ev
from harness.ssh import pedantic, phases
from harness.ssh.auth.client import ClientAuth
from harness.ssh.auth.server import ServerAuth
from harness.ssh.channels.table import ChannelTable
from harness.ssh.config import ConnectionConfig
from harness.ssh.crypto import compression as comp
from harness.ssh.crypto import protection as prot
from harness.ssh.errors import (
    ConnectionLost,
    DisconnectReason,
    LocalPolicyError,
    LocalProtocolError,
    NotAnSSHServer,
    RemoteProtocolError,
)
from harness.ssh.kex.engine import KexEngine, KexSecrets
from harness.ssh.limits import MAX_OUR_PAYLOAD, MAX_PENDING_GLOBAL_REQUESTS
from harness.ssh.packet.framing import IDENTITY, PacketReader, PacketWriter
from harness.ssh.packet.version import VersionReader, make_version_line, not_ssh_message
from harness.ssh.phases import Phase, Role
from harness.ssh.policy import OPEN_SUCCEEDED, ServerPolicy
from harness.ssh.wire import messages as m
from harness.ssh.wire.codec import decode_name_list
from harness.ssh.wire.message import Message, UnknownMessage

RandBytes = Callable[[int], bytes]
_U32 = struct.Struct(">I")
_CHANNEL_DATA = 94
_CHANNEL_DATA_BYTE = bytes([_CHANNEL_DATA])
_DISCONNECT_BYTE = b"\x01"
_REKEY_PHASES = frozenset({Phase.USERAUTH, Phase.CONNECTED})  # where volume limits start a rekey
_UNIMPLEMENTED_BYTE = b"\x03"
_EMPTY_LANGUAGE = b"\x00\x00\x00\x00"


def disconnect_payload(reason: int, description: str) -> bytes:
    """DISCONNECT (RFC 4253 11.1) built without the generic encoder, with an empty language tag.

    Why: it ends every session that sends something malformed, which for a fuzzer is most of
    them; the bytes are exactly what ``m.Disconnect(...).encode()`` gives (a test checks).
    """
    text = description.encode("utf-8")
    return _DISCONNECT_BYTE + _U32.pack(reason) + _U32.pack(len(text)) + text + _EMPTY_LANGUAGE


def unimplemented_payload(seq: int) -> bytes:
    """UNIMPLEMENTED (RFC 4253 11.4) for packet ``seq``: the answer to every unknown message
    number, built without the generic encoder for the same reason (a test checks the bytes)."""
    return _UNIMPLEMENTED_BYTE + _U32.pack(seq)


class Connection:
    """One SSH connection, either role. Drive it with receive_data / data_to_send / next_event."""

    def __init__(self, role: Role, randbytes: RandBytes, config: ConnectionConfig | None = None,
                 policy: ServerPolicy | None = None) -> None:  # fmt: skip
        self.role = role
        self.is_client = role is Role.CLIENT
        self.randbytes = randbytes
        self.config = config or ConnectionConfig()
        self.phase = Phase.VERSION
        self._out = bytearray()
        self._events: deque[ev.Event] = deque()
        self._deferred: deque[bytes] = deque()
        self.version_reader = VersionReader(allow_pre_banner=self.is_client)
        self.our_version_line = make_version_line(self.config.software_version)[:-2]
        self.peer_version_line = b""
        self._sent_version = False  # an identification line went out (start() or send_raw)
        self.writer = PacketWriter(prot.null_sealer(), randbytes)
        self.reader = PacketReader(prot.null_opener())
        self.kex = KexEngine(self)
        self.policy = policy or ServerPolicy()
        self.auth: ClientAuth | ServerAuth = ClientAuth(self) if self.is_client else ServerAuth(self)
        self.channels = ChannelTable(self)
        self.extensions: dict[str, bytes] = {}
        self._pending_global: deque[int] = deque()
        self._global_token = 0
        self._delayed_out: comp.CompressionSpec | None = None
        self._delayed_in: comp.CompressionSpec | None = None
        self.disconnect_reason: int | None = None
        self._handlers: dict[int, Callable[[Message], None]] = (
            self._client_handlers() if self.is_client else self._server_handlers()
        )
        # Observer seam: called with ("in"|"out", sequence number, payload) for every packet
        # (hex dumps, transcripts, corpus recording). None costs nothing on the hot path.
        self.packet_observer: Callable[[str, int, bytes], None] | None = None
        # Observer seam for key logs (harness/capture): called with a kex.engine.KexSecrets
        # once per key exchange, when the keys are derived. None: nothing is kept or copied.
        self.kex_observer: Callable[[KexSecrets], None] | None = None

    # == the driver's interface ===========================================================

    def start(self) -> None:
        """Send our identification line and KEXINIT (both may go out before the peer's)."""
        if self.phase is not Phase.VERSION or self._out:
            raise LocalProtocolError("connection already started")
        self._out += self.our_version_line + b"\r\n"
        self._sent_version = True
        self.kex.start()

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_event(self) -> ev.Event | None:
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer. Raises RemoteProtocolError (DISCONNECT already queued)."""
        if self.phase is Phase.CLOSED:
            return
        try:
            if self.phase is Phase.VERSION:
                data = self.version_reader.feed(data)
                result = self.version_reader.result
                if result is None:
                    return
                if self.config.pedantic and (why := pedantic.version_refusal(result)):
                    raise RemoteProtocolError(why)
                self.peer_version_line = result.line.encode("ascii")
                self.phase = Phase.FIRST_KEX
                self.emit(ev.VersionReceived(result.line, result.pre_banner))
            self.reader.feed(data)
            while self.phase is not Phase.CLOSED:
                payload = self.reader.next_payload()
                if payload is None:
                    break
                if self.packet_observer is not None:
                    self.packet_observer("in", self.reader.last_seq, payload)
                try:
                    self._dispatch(payload)
                except RemoteProtocolError as exc:
                    if not self.config.observe:
                        raise
                    self._observe_violation(payload, exc)
                self._maybe_rekey()
        except (RemoteProtocolError, LocalPolicyError) as exc:  # a local policy refusal: DISCONNECT too
            if self.config.on_error == "mute" and isinstance(exc, RemoteProtocolError):
                self.phase = Phase.CLOSED  # say nothing and read nothing more: the peer sees silence
                return
            self._fail(exc)
            raise

    def receive_eof(self) -> None:
        if self.phase is not Phase.CLOSED:
            text = "connection closed by peer without DISCONNECT"
            error: ConnectionLost = ConnectionLost(text)
            if self.phase is Phase.VERSION and self.is_client:  # e.g. an HTTP server answered and closed
                arrived = self.version_reader.arrived()
                error = NotAnSSHServer(f"{not_ssh_message(arrived)}, then it closed" if arrived else
                                       "connection closed before the peer sent an identification line")  # fmt: skip
            self.phase = Phase.CLOSED
            reason = DisconnectReason.CONNECTION_LOST
            self.emit(ev.Disconnected(reason, text, True, error))

    def disconnect(self, reason: int = DisconnectReason.BY_APPLICATION, description: str = "bye") -> None:
        if self.phase is Phase.CLOSED:
            return
        if self.phase is not Phase.VERSION or self._out:
            self._frame(disconnect_payload(reason, description))
        self.phase = Phase.CLOSED
        self.disconnect_reason = reason
        self.emit(ev.Disconnected(reason, description, False))

    # == seams for scenarios and fuzzers ==================================================

    def send_unchecked(self, payload: bytes | Message) -> None:
        """Frame and send anything now, bypassing phase rules and kex deferral (misbehaviour)."""
        raw = payload.encode() if isinstance(payload, Message) else bytes(payload)
        self._frame(raw)

    def send_raw(self, data: bytes) -> None:
        """Put bytes on the wire as they are (identification-line games, garbage).

        Before our KEXINIT, the first line starting with ``SSH-`` that goes out this way becomes
        the identification line the exchange hash covers: the hash must hold what was really
        sent, or our own signature check would fail and look like the peer's refusal."""
        if not self._sent_version and self.kex.our_kexinit is None:
            for line in bytes(data).split(b"\n")[:-1]:
                if line.startswith(b"SSH-"):
                    self.our_version_line = line[:-1] if line.endswith(b"\r") else line
                    self._sent_version = True
                    break
        self._out += data

    def _observe_violation(self, payload: bytes, exc: RemoteProtocolError) -> None:
        """Observer mode: report what a normal connection would refuse, drop it, keep going.

        A message refused before decoding (by the phase table) is still decoded and reported as
        received where it can be, so a scenario can expect the reply itself."""
        seq = self.reader.last_seq
        last = self._events[-1] if self._events else None
        if payload and not (isinstance(last, ev.MessageReceived) and last.seq == seq):
            try:
                msg = m.decode_message(payload, self.kex.context, self.auth.context)
            except RemoteProtocolError:
                pass  # malformed as well: the violation event says what it was
            else:
                self.emit(ev.MessageReceived(msg, seq))
        self.emit(ev.PeerViolation(payload[0] if payload else -1, seq, int(exc.reason), str(exc)))

    # == used by the protocol modules =====================================================

    @property
    def session_id(self) -> bytes | None:
        return self.kex.session_id

    def emit(self, event: ev.Event) -> None:
        self._events.append(event)

    def host_key_algorithms_to_offer(self) -> tuple[str, ...]:
        """Client: the configured preference. Server: only algorithms we hold a key for."""
        if self.is_client:
            return self.config.host_key_algorithms
        from harness.ssh.keys import key_type_for_algorithm

        types = {key.public_key.key_type for key in self.config.server_host_keys}
        return tuple(a for a in self.config.host_key_algorithms if key_type_for_algorithm(a) in types)

    def host_key_for(self, algorithm: str):  # type: ignore[no-untyped-def]
        """The server host key that signs for ``algorithm`` (negotiation guarantees one exists)."""
        from harness.ssh.keys import key_type_for_algorithm

        wanted = key_type_for_algorithm(algorithm)
        for key in self.config.server_host_keys:
            if key.public_key.key_type == wanted:
                return key
        raise LocalProtocolError(f"no host key for {algorithm}")

    @property
    def moduli(self):  # type: ignore[no-untyped-def]
        from harness.ssh.kex.moduli import Moduli

        return self.config.moduli if self.config.moduli is not None else Moduli.fixed()

    def send_message(self, msg: Message, kex: bool = False) -> None:
        self.send_payload(msg.encode(), kex)

    def send_payload(self, payload: bytes, kex: bool = False) -> None:
        if self.phase is Phase.CLOSED:
            raise LocalProtocolError("connection is closed")
        if len(payload) > MAX_OUR_PAYLOAD:  # RFC 4253 6.1; send_unchecked is the seam past it
            raise LocalProtocolError(f"payload of {len(payload)} bytes exceeds our limit of {MAX_OUR_PAYLOAD}")
        if not kex and (self.kex.in_progress or self.phase is Phase.VERSION):
            self._deferred.append(payload)  # RFC 4253 7.1: only kex messages until our NEWKEYS
            return
        self._frame(payload)
        if not kex:
            self._maybe_rekey()  # outgoing volume counts too: an upload must rekey on its own

    def send_channel_data(self, remote_id: int, data: bytes) -> None:
        """Hot path: CHANNEL_DATA built without the generic encoder."""
        payload = _CHANNEL_DATA_BYTE + _U32.pack(remote_id) + _U32.pack(len(data)) + data
        self.send_payload(payload)

    def _frame(self, payload: bytes) -> None:
        if self.packet_observer is not None:
            self.packet_observer("out", self.writer.seq, payload)
        self._out += self.writer.frame(payload)

    def install_outgoing(self, sealer: prot.Sealer, spec: comp.CompressionSpec, reset_seq: bool) -> None:
        compressor = self._compressor_for(spec, outgoing=True)
        self.writer.set_protection(sealer, compressor, reset_seq)

    def install_incoming(self, opener: prot.Opener, spec: comp.CompressionSpec, reset_seq: bool) -> None:
        decompressor = self._compressor_for(spec, outgoing=False)
        self.reader.set_protection(opener, decompressor, reset_seq)

    def _compressor_for(self, spec: comp.CompressionSpec, outgoing: bool):  # type: ignore[no-untyped-def]
        if spec.delayed and not self.auth.authenticated:
            if outgoing:
                self._delayed_out = spec
            else:
                self._delayed_in = spec
            return IDENTITY
        return comp.make_compressor(spec) if outgoing else comp.make_decompressor(spec)

    def _send_ext_info(self) -> None:
        """RFC 8308: the server's EXT_INFO is the first packet after its first NEWKEYS."""
        from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

        sig_algs = ",".join(a for a in SUPPORTED_HOST_KEY_ALGORITHMS if a != "ssh-dss").encode()
        self._frame(m.ExtInfo(extensions=(("server-sig-algs", sig_algs),)).encode())

    def auth_succeeded(self) -> None:
        """zlib@openssh.com starts after USERAUTH_SUCCESS in both directions."""
        self.phase = Phase.CONNECTED
        if self._delayed_out is not None:
            self.writer.compressor = comp.make_compressor(self._delayed_out)
            self._delayed_out = None
        if self._delayed_in is not None:
            self.reader.decompressor = comp.make_decompressor(self._delayed_in)
            self._delayed_in = None

    def kex_finished(self, first: bool) -> None:
        if first:
            self.phase = Phase.USERAUTH
            if self.is_client:
                self.auth.request_service()
            elif self.kex.peer_ext_info and self.config.ext_info:  # ext_info=False: no RFC 8308
                self._send_ext_info()
        while self._deferred and not self.kex.in_progress:
            self._frame(self._deferred.popleft())

    def rekey(self) -> None:
        """Start a key re-exchange now (no-op while one is running)."""
        if self.phase in (Phase.VERSION, Phase.FIRST_KEX, Phase.CLOSED):
            raise LocalProtocolError(f"cannot rekey in phase {self.phase.value}")
        if not self.kex.in_progress:
            self.kex.start()

    def _maybe_rekey(self) -> None:
        if self.kex.in_progress or self.phase not in _REKEY_PHASES:
            return
        cfg = self.config
        w, r = self.writer, self.reader
        if (
            w.bytes_since_rekey >= cfg.rekey_bytes
            or r.bytes_since_rekey >= cfg.rekey_bytes
            or w.packets_since_rekey >= cfg.rekey_packets
            or r.packets_since_rekey >= cfg.rekey_packets
        ):
            self.kex.start()

    # == global requests ==================================================================

    def global_request(self, name: str, want_reply: bool = True, data: bytes = b"") -> int | None:
        """Send a GLOBAL_REQUEST; returns a token matched by the GlobalReply event."""
        if self.phase is not Phase.CONNECTED:
            raise LocalProtocolError("global requests need an authenticated connection")
        token = None
        if want_reply:
            if len(self._pending_global) >= MAX_PENDING_GLOBAL_REQUESTS:
                raise LocalProtocolError("too many global requests awaiting replies")
            self._global_token += 1
            token = self._global_token
            self._pending_global.append(token)
        self.send_message(m.GlobalRequest(request_name=name, want_reply=want_reply, data=data))
        return token

    def reply_global_request(self, success: bool, data: bytes = b"") -> None:
        self.send_message(m.RequestSuccess(data=data) if success else m.RequestFailure())

    def _on_global_request(self, msg: Message) -> None:
        if not self.config.answer_global_requests:
            self._frame(unimplemented_payload(self.reader.last_seq))
            return
        self.emit(ev.GlobalRequestReceived(msg.request_name, msg.want_reply, msg))
        if msg.want_reply:
            # A client serves no global requests (keepalive@openssh.com gets FAILURE, as OpenSSH's does).
            self.reply_global_request(False)

    def _on_global_reply(self, msg: Message) -> None:
        if not self._pending_global:
            raise RemoteProtocolError(f"{msg.NAME} with no global request awaiting a reply")
        token = self._pending_global.popleft()
        self.emit(ev.GlobalReply(token, isinstance(msg, m.RequestSuccess), getattr(msg, "data", b"")))

    # == incoming dispatch ================================================================

    def _common_handlers(self) -> dict[int, Callable[[Message], None]]:
        """Handlers both roles share: transport generic, kex, global replies, channels."""
        ch = self.channels
        handlers: dict[int, Callable[[Message], None]] = {
            1: self._on_disconnect,
            2: lambda msg: self.emit(ev.IgnoreReceived(msg.data)),
            3: lambda msg: self.emit(ev.UnimplementedReceived(msg.seq)),
            4: lambda msg: self.emit(ev.DebugReceived(msg.always_display, msg.message)),
            7: self._on_ext_info,
            21: lambda msg: self.kex.on_newkeys(),
            81: self._on_global_reply,
            82: self._on_global_reply,
            91: ch.on_open_confirmation,
            92: ch.on_open_failure,
            93: ch.on_window_adjust,
            94: lambda msg: ch.on_data(msg.recipient, msg.data),
            95: ch.on_extended_data,
            96: ch.on_eof,
            97: ch.on_close,
            99: ch.on_reply,
            100: ch.on_reply,
        }
        for num in range(30, 50):
            handlers[num] = self.kex.on_method_message
        for num in range(60, 80):
            handlers[num] = self.auth.on_method_message
        return handlers

    def _client_handlers(self) -> dict[int, Callable[[Message], None]]:
        auth = self.auth
        assert isinstance(auth, ClientAuth)
        return self._common_handlers() | {
            6: auth.on_service_accept,
            51: auth.on_failure,
            52: auth.on_success,
            53: auth.on_banner,
            80: self._on_global_request,
            90: self._on_channel_open,
            98: self.channels.on_request,
        }

    def _server_handlers(self) -> dict[int, Callable[[Message], None]]:
        auth = self.auth
        assert isinstance(auth, ServerAuth)
        return self._common_handlers() | {
            5: auth.on_service_request,
            50: auth.on_request,
            80: self._on_global_request_server,
            90: self._on_channel_open_server,
            98: self._on_channel_request_server,
        }

    def _on_global_request_server(self, msg: Message) -> None:
        if not self.config.answer_global_requests:
            self._frame(unimplemented_payload(self.reader.last_seq))
            return
        self.emit(ev.GlobalRequestReceived(msg.request_name, msg.want_reply, msg))
        result = self.policy.check_global_request(msg.request_name, msg)
        if msg.want_reply:
            if isinstance(result, bytes | bytearray):
                self.reply_global_request(True, bytes(result))
            else:
                self.reply_global_request(bool(result))

    def _on_channel_open_server(self, msg: Message) -> None:
        cid = self.channels.on_open(msg)
        if cid is None:
            return
        if isinstance(msg, m.ChannelOpenDirectTcpip):
            result = self.policy.check_channel_direct_tcpip_request(
                cid, (msg.originator_address, msg.originator_port), (msg.address, msg.port))
        else:
            result = self.policy.check_channel_request(msg.channel_type, cid)
        if result == OPEN_SUCCEEDED:
            self.channels.accept_open(cid)
            self.emit(ev.ChannelOpened(cid))
        else:
            self.channels.reject_open(cid, int(result) or 1, f"{msg.channel_type} channel refused")

    def _on_channel_request_server(self, msg: Message) -> None:
        cid = self.channels.on_request(msg)
        ok = self.policy.check_channel_request_message(cid, msg)
        if msg.want_reply:
            self.channels.reply_request(cid, bool(ok))

    def _allowed(self) -> frozenset[int]:
        if self.kex.peer_kex_active:
            if self.kex.count == 0 and self.kex.strict:
                return phases.STRICT_FIRST_KEX
            return phases.DURING_KEX
        if self.phase is Phase.FIRST_KEX and self.kex.strict:
            return phases.STRICT_FIRST_KEX
        return phases.ALLOWED[(self.role, self.phase)]

    def _dispatch(self, payload: bytes) -> None:
        msg_id = payload[0] if payload else -1
        if msg_id < 0:
            raise RemoteProtocolError("empty payload")
        if self.config.pedantic and (why := pedantic.message_refusal(
                msg_id, payload, self.kex.count > 0 and self.phase is not Phase.CONNECTED)):  # fmt: skip
            raise RemoteProtocolError(why)
        allowed = self._allowed()
        if msg_id not in allowed:
            strict_first = self.kex.strict and self.kex.count == 0
            if msg_id in phases.ASSIGNED or strict_first or phases.unassigned_is_violation(
                    self.role, self.phase, msg_id, self.kex.peer_kex_active):  # fmt: skip
                name = m.message_name(msg_id)
                state = "during key exchange" if self.kex.peer_kex_active else f"in phase '{self.phase.value}'"
                raise RemoteProtocolError(f"{name} (message {msg_id}) is not allowed {state}")
            self._unknown(msg_id)
            return
        if self.kex.ignore_next_kex_packet and 30 <= msg_id <= 49:
            self.kex.ignore_next_kex_packet = False  # RFC 4253 7: the peer's wrong guess
            return
        if msg_id == _CHANNEL_DATA and not self.config.emit_messages:
            self._fast_channel_data(payload)
            return
        if msg_id == 20:
            msg = m.KexInit.decode(payload)
        else:
            msg = m.decode_message(payload, self.kex.context, self.auth.context)
        if self.config.emit_messages:
            self.emit(ev.MessageReceived(msg, self.reader.last_seq))
        if msg_id in self.config.held_messages:
            return  # the scenario answers it by hand
        if msg_id == 20:
            self.kex.on_kexinit(msg, payload)
            return
        handler = self._handlers.get(msg_id)
        if handler is None or isinstance(msg, UnknownMessage):
            self._unknown(msg_id)
            return
        handler(msg)

    def _unknown(self, msg_id: int) -> None:
        """A message number we do not implement: UNIMPLEMENTED (RFC 4253 11.4) by default."""
        how = self.config.unknown_messages
        if how == "unimplemented":
            self._frame(unimplemented_payload(self.reader.last_seq))
        elif how == "violation":
            raise RemoteProtocolError(f"unknown message number {msg_id}")

    def _fast_channel_data(self, payload: bytes) -> None:
        if len(payload) < 9:
            raise RemoteProtocolError("CHANNEL_DATA shorter than its fixed fields")
        recipient, length = struct.unpack_from(">II", payload, 1)
        if length != len(payload) - 9:
            raise RemoteProtocolError(f"CHANNEL_DATA string length {length} does not match the payload")
        self.channels.on_data(recipient, payload[9:])

    def _on_disconnect(self, msg: Message) -> None:
        self.phase = Phase.CLOSED
        self.disconnect_reason = msg.reason
        self.emit(ev.Disconnected(msg.reason, msg.description, True))

    def _on_ext_info(self, msg: Message) -> None:
        ext = {name: value for name, value in msg.extensions}
        self.extensions.update(ext)
        if "server-sig-algs" in ext:
            self.auth.server_sig_algs = decode_name_list(ext["server-sig-algs"])
        self.emit(ev.ExtInfoReceived(ext))

    def _on_channel_open(self, msg: Message) -> None:
        cid = self.channels.on_open(msg)
        if cid is None:
            return
        self.emit(ev.ChannelOpenRequested(cid, msg.channel_type, msg))

    def _fail(self, exc: RemoteProtocolError | LocalPolicyError) -> None:
        if self.phase is Phase.CLOSED:
            return
        reason, text = int(exc.reason), str(exc)
        if self.config.on_error != "disconnect":
            pass  # "close": end without a word (the driver closes the socket)
        elif self.phase is not Phase.VERSION or self.writer.seq > 0:
            # Nothing is expected to fail here: compressors and sealers take any payload, and the
            # text is bounded. An exception (a packet observer's or a tamper hook's) is a bug to see.
            # Once a packet of ours (our KEXINIT) is out, the stream is binary: text would be garbage.
            self._frame(disconnect_payload(reason, text[:200]))
        else:
            self._out += b"Protocol mismatch.\r\n"
        self.phase = Phase.CLOSED
        self.disconnect_reason = reason
        self.emit(ev.Disconnected(reason, text, False, exc))
