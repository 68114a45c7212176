"""Fuzz target: the SFTP v3 packet codec and the client's receive path (harness.ssh.sftp).

Input: a mode byte, then bytes whose meaning depends on the mode (``mode & 3``):

- 0, response codec: ``[context][body]``: ``packets.decode_response(body, ctx)``, where the
  context byte picks the extension request an EXTENDED_REPLY answers (:data:`EXT_CONTEXTS`).
- 1, request codec: ``[body]``: ``packets.decode_request(body)`` (what a server parses).
- 2 and 3, session: ``[feed][4 chunk sizes][u16 plan length][plan][server stream]``. A fresh
  :class:`SFTPClientProtocol` is started; the stream's first packet (the server's VERSION) is
  fed, then the plan's requests are sent (two bytes each: :data:`REQUEST_KINDS` index, then
  READ length index in bits 0-2 and "abandon" in bit 7) until every request id that a complete
  reply packet of the stream names has been handed out (later ones could change nothing but
  the outstanding count: see :meth:`_Session.send_plan`), then the rest of the stream. The feed
  byte chooses the chunking (bits 0-1: whole, byte by byte, fuzzer-chosen chunk sizes), the
  packet limit (bits 2-3, :data:`PACKET_LIMITS`) and whether bytes go through
  ``receive_data`` or the BufferedProtocol pair ``get_buffer``/``buffer_updated`` (bit 4).

Oracle:

- codecs: only ``DecodeError``; whatever decodes re-encodes to exactly the same bytes (names
  and handles are raw bytes, texts strict UTF-8, ATTRS flags derived from the fields).
- session: only the promised errors (``DecodeError``, ``SFTPProtocolError``: both
  ``RemoteProtocolError``) escape, and once one has, the protocol keeps raising that same
  error and delivers nothing more. The protocol never holds more than one packet of at most
  its limit plus a length header (no peer-chosen length sizes an allocation beyond the limit),
  and never queues more replies than requests were sent. Every reply it delivers is, in order,
  exactly one complete packet of the stream (it re-encodes to those bytes, with the request
  id and type it answers): nothing is dropped, merged, truncated or reordered, and DATA
  payloads (memoryviews into receive buffers) still hold their bytes after later input. When
  the stream ends without an error, every complete packet has been delivered (or was
  abandoned) and an incomplete tail is held, not delivered short.

What is instrumented: the code under test. The oracle's own work is not: encoders (the
round-trip checks) run uninstrumented (:func:`_oracle_functions`), and the reference model
decodes with a second, uninstrumented copy of the codec (:func:`_plain_copy`), so coverage
comes from the protocol's own decoding alone and costs one decode per packet, not two.

Seeds (``corpus/sftp``) are cut from SFTP sessions recorded against real OpenSSH and Dropbear
servers (:func:`harness.fuzz.seeds.record_sftp_sessions`).
"""

from __future__ import annotations

import functools
import importlib
import struct
import sys
import types

from harness.fuzz.common import (
    BYTEWISE_LIMIT,
    FEED_BYTES,
    FEED_CHUNKS,
    FEED_WHOLE,
    OracleViolation,
    chunked,
    instrumented,
    uninstrument,
)

with instrumented():
    from harness.ssh.errors import DecodeError
    from harness.ssh.sftp import attributes, packets
    from harness.ssh.sftp import constants as c
    from harness.ssh.sftp import protocol as proto_module
    from harness.ssh.sftp.attributes import SFTPAttributes
    from harness.ssh.sftp.constants import PacketType as T
    from harness.ssh.sftp.errors import SFTPProtocolError
    from harness.ssh.sftp.protocol import SFTPClientProtocol
    from harness.ssh.wire import codec
    from harness.ssh.wire.message import Message


def _plain_copy(name: str) -> types.ModuleType:
    """Module ``name`` imported a second time, with every ``harness.ssh`` module it needs, as
    separate module objects loaded outside the instrumentation; ``sys.modules`` keeps the
    originals, which the code under test goes on using.

    Why: the oracle's reference model decodes every reply (and the VERSION) that the protocol
    decodes, to know independently which ones the tables and the codec accept. Decoded with the
    instrumented codec, that doubled the decoding cost of every input for no coverage (the
    protocol decodes the very same bodies, which is where the coverage comes from). The copy is
    the same source, so the reference's verdicts are unchanged; only the coverage callbacks
    are gone. (:func:`~harness.fuzz.common.uninstrument` cannot do this: it would strip the
    decoder the protocol itself runs.)
    """
    prefix = "harness.ssh"

    def core(module_name: str) -> bool:
        return module_name == prefix or module_name.startswith(prefix + ".")

    # Runs once, at import, before the fuzzer (or any thread) could import anything meanwhile.
    saved = {n: m for n, m in sys.modules.items() if core(n)}
    for n in saved:
        del sys.modules[n]
    try:
        return importlib.import_module(name)
    finally:
        for n in [n for n in sys.modules if core(n)]:
            del sys.modules[n]
        sys.modules.update(saved)
        sys.modules["harness"].ssh = saved[prefix]  # type: ignore[attr-defined]


# The reference model's codec (see _plain_copy): its own classes, so its own DecodeError.
_ref = _plain_copy("harness.ssh.sftp.packets")
_RefDecodeError: type[Exception] = _ref.DecodeError

MODE_RESPONSE, MODE_REQUEST = 0, 1
SESSION_HEADER = 1 + 1 + 4 + 2  # mode, feed, chunk sizes, plan length
FLAG_BUFFER_PROTOCOL = 0x10
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")

# Extension requests an EXTENDED_REPLY can answer (its layout depends on the request): the typed
# ones, one without a reply table, and none (decoded opaque).
EXT_CONTEXTS: tuple[str | None, ...] = (None, c.EXT_STATVFS, c.EXT_FSTATVFS, c.EXT_LIMITS, c.EXT_EXPAND_PATH,
                                        "vendor-ext@example.com")  # fmt: skip
# Packet limits the session mode runs under: the default, and smaller ones so the limit check
# and the scratch/body boundary (SCRATCH_SIZE) are reached by short inputs.
PACKET_LIMITS: tuple[int, ...] = (c.MAX_PACKET_LENGTH, proto_module.SCRATCH_SIZE + 16, 1024, 40)
# READ lengths a plan entry can ask for (a DATA reply may carry at most that much).
READ_LENGTHS: tuple[int, ...] = (0, 1, 16, 1024, 4096, 32768, 65536, c.MAX_READ_LENGTH)
_ABANDON = 0x80
_HANDLE = b"\x00\x00\x00\x00"
_ATTRS = SFTPAttributes(st_size=1, st_mode=0o100644)


def _request_kinds() -> tuple[tuple[int, str | None], ...]:
    """(packet type, extension name) of every request a client sends."""
    plain = tuple((t, None) for t in sorted(packets.REQUEST_TABLE) if t not in (T.INIT, T.EXTENDED))
    extended = tuple((int(T.EXTENDED), name) for name in sorted(packets.Extended.SUBTYPES))
    return (*plain, *extended, (int(T.EXTENDED), "vendor-ext@example.com"))


REQUEST_KINDS = _request_kinds()
KIND_INDEX = {kind: i for i, kind in enumerate(REQUEST_KINDS)}


def make_request(packet_type: int, extension: str | None, read_length: int) -> Message:
    """A well-formed request of that kind (the session mode's requests; contents do not matter
    to the receive path, only the type, the extension and a READ's length)."""
    if packet_type == T.EXTENDED:
        sub = packets.Extended.SUBTYPES.get(extension or "")
        if sub is None:
            return packets.Extended(request=extension or "", data=b"")
        values = {name: _default_field(name) for name, _ in sub.FIELDS if name not in ("request_id", "request")}
        return sub(**values)
    if packet_type == T.READ:
        return packets.Read(handle=_HANDLE, offset=0, length=read_length)
    cls = packets.REQUEST_TABLE[packet_type]
    return cls(**{name: _default_field(name) for name, _ in cls.FIELDS if name != "request_id"})


# One request of each (kind, READ length) a plan has used, built once: a plan entry gets a
# shallow copy. Building each with the message constructor ran the (instrumented) wire layer
# about ten branches per field for every request of every input, which is not code under test
# here (the protocol neither builds requests nor keeps them after encoding).
_TEMPLATES: dict[tuple[int, int], Message] = {}


def _fresh_request(kind: int, read_length: int) -> Message:
    """A new request equal to ``make_request(*REQUEST_KINDS[kind], read_length)``."""
    template = _TEMPLATES.get((kind, read_length))
    if template is None:
        template = _TEMPLATES[(kind, read_length)] = make_request(*REQUEST_KINDS[kind], read_length)
    packet = object.__new__(type(template))
    packet.__dict__.update(template.__dict__)
    return packet


def _default_field(name: str) -> object:
    if name == "attrs":
        return _ATTRS
    if name in ("pflags", "offset", "length"):
        return 0
    if name == "handle":
        return _HANDLE
    return b"/tmp/f"


def plan_entry(packet_type: int, extension: str | None, read_length: int = 0, abandon: bool = False) -> bytes:
    """Inverse of the plan decoding (for seeds): the smallest READ length at least ``read_length``."""
    kind = KIND_INDEX.get((packet_type, extension))
    if kind is None:
        kind = KIND_INDEX[(int(T.EXTENDED), "vendor-ext@example.com")]
    index = next((i for i, n in enumerate(READ_LENGTHS) if n >= read_length), len(READ_LENGTHS) - 1)
    return bytes([kind, index | (_ABANDON if abandon else 0)])


def session_input(plan: bytes, stream: bytes, feed: int = FEED_CHUNKS, sizes: bytes = b"\x0f\x3f\x07\xff",
                  mode: int = 2) -> bytes:  # fmt: skip
    """A session-mode input (for seeds and tests)."""
    return bytes([mode, feed]) + sizes[:4].ljust(4, b"\x07") + _U16.pack(len(plan)) + plan + stream


# -- codecs ----------------------------------------------------------------------------------------


def _check_round_trip(packet: Message, body: bytes, what: str) -> None:
    encoded = packet.encode()
    if encoded != body:
        raise OracleViolation(
            f"{what} {packet.NAME} re-encodes differently:\n  in:  {body.hex()}\n  out: {encoded.hex()}"
        )


def _check_response(data: bytes) -> None:
    if not data:
        return
    context = EXT_CONTEXTS[data[0] % len(EXT_CONTEXTS)]
    body = data[1:]
    try:
        packet = packets.decode_response(body, context)
    except DecodeError:
        return
    _check_round_trip(packet, body, f"response (context {context})")


def _check_request(body: bytes) -> None:
    try:
        packet = packets.decode_request(body)
    except DecodeError:
        return
    _check_round_trip(packet, body, "request")


# -- session ---------------------------------------------------------------------------------------


def _frame(stream: bytes) -> tuple[list[bytes], int]:
    """The reference framing, independent of the code under test: the complete packets' bodies
    and where the first incomplete one starts."""
    bodies, pos = [], 0
    while pos + 4 <= len(stream):
        length = _U32.unpack_from(stream, pos)[0]
        if pos + 4 + length > len(stream):
            break
        bodies.append(stream[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return bodies, pos


def _held(proto: SFTPClientProtocol) -> int:
    """Bytes the protocol has reserved for input it has not delivered (white box, on purpose:
    this is the bound the oracle checks)."""
    body = proto._body
    return len(proto._scratch) + (len(body) if body is not None else 0)


class _Session:
    """One session-mode run: the protocol, what we sent, what it delivered."""

    def __init__(self, feed: int, sizes: bytes) -> None:
        self.limit = PACKET_LIMITS[(feed >> 2) & 3]
        self.proto = SFTPClientProtocol(max_packet_length=self.limit)
        self.proto.start()
        self.proto.data_to_send()
        self.feed_mode = (FEED_WHOLE, FEED_BYTES, FEED_CHUNKS, FEED_CHUNKS)[feed & 3]
        self.buffer_protocol = bool(feed & FLAG_BUFFER_PROTOCOL)
        self.sizes = sizes
        # request id -> (packet type, abandoned, extension, READ length)
        self.sent: dict[int, tuple[int, bool, str | None, int]] = {}
        self.delivered: list[proto_module.Response] = []
        self.error: Exception | None = None

    def feed(self, data: bytes) -> bool:
        """Feed ``data`` in the chosen chunking; False once the protocol raised its error.

        Written for speed (bound methods and constants in locals, the drain and the bound checks
        inline, comparisons instead of ``min``): byte-wise feeding runs this loop once per byte
        for the first BYTEWISE_LIMIT bytes of each feed, and it was the largest single cost of
        the target. Every chunk gets the same checks as before.
        """
        proto = self.proto
        get_buffer, buffer_updated, next_response = proto.get_buffer, proto.buffer_updated, proto.next_response
        receive_data = proto.receive_data
        delivered, sent, bound = self.delivered, self.sent, proto_module.SCRATCH_SIZE + self.limit
        buffer_protocol, bytewise_limit = self.buffer_protocol, BYTEWISE_LIMIT
        cycle = [1 + b for b in self.sizes] or [7]
        ncycle = len(cycle)
        fed = 0
        for i, chunk in enumerate(chunked(data, self.feed_mode, self.sizes)):
            try:
                if not buffer_protocol:
                    receive_data(chunk)
                elif len(chunk) == 1:  # byte-wise feeding: the general case below for one byte
                    buf = get_buffer()
                    if not len(buf):
                        raise OracleViolation("get_buffer() returned an empty buffer")
                    buf[0] = chunk[0]
                    fed += 1
                    buffer_updated(1)
                else:
                    step = cycle[i % ncycle]
                    pos, end = 0, len(chunk)
                    while pos < end:
                        buf = get_buffer()
                        n = len(buf)
                        if not n:
                            raise OracleViolation("get_buffer() returned an empty buffer")
                        if n > end - pos:
                            n = end - pos
                        # Small steps only near the start, as chunked() does: past that, a step
                        # of one byte through a 32 KiB DATA reply costs 32,768 calls per input.
                        if n > step and fed < bytewise_limit:
                            n = step
                        buf[:n] = chunk if n == end else chunk[pos : pos + n]
                        pos += n
                        fed += n
                        buffer_updated(n)
            except (DecodeError, SFTPProtocolError) as exc:
                self.error = exc
                self._drain()
                self._check_sticky(exc)
                return False
            # _drain(), called only when the queue the protocol delivers into is non-empty (a
            # white-box peek, like _held): next_response() returning None after every chunk was
            # one instrumented call per byte of byte-wise feeding, with nothing to explore.
            if proto._responses:
                while (response := next_response()) is not None:
                    delivered.append(response)
                if len(delivered) > len(sent):  # only a drain adds to delivered
                    self._check_bounds()
            body = proto._body  # _check_bounds() on what the protocol holds, inline while it passes
            if len(proto._scratch) + (len(body) if body is not None else 0) > bound:
                self._check_bounds()
        return True

    def _drain(self) -> None:
        while (response := self.proto.next_response()) is not None:
            self.delivered.append(response)

    def _check_bounds(self) -> None:
        held = _held(self.proto)
        if held > proto_module.SCRATCH_SIZE + self.limit:
            raise OracleViolation(f"the protocol holds {held} bytes under a packet limit of {self.limit}")
        if len(self.delivered) > len(self.sent):
            raise OracleViolation(f"{len(self.delivered)} replies delivered for {len(self.sent)} requests")

    def _check_sticky(self, exc: Exception) -> None:
        proto = self.proto
        if proto.error is not exc:
            raise OracleViolation(f"raised {exc!r} but remembers {proto.error!r}")
        for again in (lambda: proto.receive_data(b"\x00\x00\x00\x05\x65\x00\x00\x00\x00"),
                      lambda: proto.buffer_updated(0)):  # fmt: skip
            try:
                again()
            except (DecodeError, SFTPProtocolError) as later:
                if later is not exc:
                    raise OracleViolation(f"after {exc!r} it raised a different error {later!r}") from later
            else:
                raise OracleViolation(f"after {exc!r} it accepted more input")
        if proto.next_response() is not None:
            raise OracleViolation(f"a reply was delivered after {exc!r}")

    def send_plan(self, plan: bytes, named: set[int] | None = None) -> None:
        """Send the plan's requests; with ``named`` (the request ids that the stream's complete
        reply packets carry), stop as soon as every one of them has been given to a request.

        Why stop there: the receive path looks up only the request a reply names, so a request
        that no reply in the stream can name changes nothing it does but the outstanding count,
        which the final check still compares (with the requests actually sent). Sending the plan
        took a fifth of the target's time, half of it on such requests (mutated seeds keep a
        recorded plan of ~30 requests and lose most of the replies), while every request kind's
        send path is still reached by plans whose replies name it. The stop follows the ids the
        protocol returns, so it holds whatever ids the protocol hands out.
        """
        proto = self.proto
        # Our own limit on outstanding requests is not under test: the plan stays below it.
        plan = plan[: 2 * c.MAX_OUTSTANDING_REQUESTS]
        for i in range(0, len(plan) - 1, 2):
            if named is not None and not named:
                break
            kind = plan[i] % len(REQUEST_KINDS)
            packet_type, extension = REQUEST_KINDS[kind]
            flags = plan[i + 1]
            length = READ_LENGTHS[flags & 7]
            request_id = proto.send(_fresh_request(kind, length))
            abandoned = bool(flags & _ABANDON)
            if abandoned:
                proto.abandon(request_id)
            self.sent[request_id] = (packet_type, abandoned, extension, length)
            if named is not None:
                named.discard(request_id)
        proto.data_to_send()

    def first_invalid(self, bodies: list[bytes], tail: bytes) -> int | None:
        """The reference model: the index of the first reply (after VERSION) that the tables in
        ``packets`` (allowed responses per request, extension layouts) and the documented rules
        (a READ's length bounds its DATA, only READDIR gets several names) refuse, or
        ``len(bodies)`` for a tail whose length header is already impossible, or None."""
        pending = {rid: sent for rid, sent in self.sent.items()}
        for index, body in enumerate(bodies):
            if not 0 < len(body) <= self.limit or body[0] == T.VERSION or len(body) < 5:
                return index
            sent = pending.pop(_U32.unpack_from(body, 1)[0], None)
            if sent is None:
                return index
            packet_type, _, extension, length = sent
            if packet_type == T.EXTENDED:
                allowed = packets.EXTENDED_ALLOWED_RESPONSES.get(extension or "", packets.ANY_RESPONSE)
            else:
                allowed = packets.ALLOWED_RESPONSES[packet_type]
            if body[0] not in allowed:
                return index
            decoded = _reference_decode(body, extension)
            if decoded is None:
                return index
            kind, count = decoded
            if packet_type == T.READ and kind == T.DATA and count > length:
                return index
            if kind == T.NAME and packet_type != T.READDIR and count != 1:
                return index
        if len(tail) >= 4 and not 0 < _U32.unpack_from(tail)[0] <= self.limit:
            return len(bodies)
        return None

    def check_delivered(self, bodies: list[bytes], tail: bytes) -> None:
        """Replies against the reference framing of the stream (after VERSION) and the reference model."""
        invalid = self.first_invalid(bodies, tail)
        if invalid is None and self.error is not None:
            raise OracleViolation(f"a stream the protocol tables allow was refused: {self.error!r}")
        if invalid is not None and self.error is None:
            raise OracleViolation(f"reply packet {invalid} after VERSION breaks the protocol tables but was accepted")
        usable = bodies if invalid is None else bodies[:invalid]
        expected = []
        for body in usable:
            request_id = _U32.unpack_from(body, 1)[0]
            packet_type, abandoned, _, _ = self.sent[request_id]
            if not abandoned:
                expected.append((body, request_id, packet_type))
        got = self.delivered
        if len(got) != len(expected):
            where = "the end" if invalid is None else f"packet {invalid}"
            raise OracleViolation(f"{len(got)} replies delivered for the {len(expected)} valid complete reply "
                                  f"packets before {where}")  # fmt: skip
        for response, (body, request_id, packet_type) in zip(got, expected, strict=True):
            if response.request_id != request_id or response.request_type != packet_type:
                raise OracleViolation(f"reply delivered as id {response.request_id} type {response.request_type}, "
                                      f"the stream had id {request_id} answering type {packet_type}")  # fmt: skip
            _check_round_trip(response.packet, body, "delivered reply")
        if invalid is None and self.proto.outstanding != len(self.sent) - len(bodies):
            raise OracleViolation(f"{self.proto.outstanding} requests outstanding after {len(bodies)} of "
                                  f"{len(self.sent)} were answered")  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _reference_decode(body: bytes, extension: str | None) -> tuple[int, int] | None:
    """What the reference model needs of a reply: None if the codec refuses it in that context,
    else its type and its DATA length or NAME entry count (-1 for other types).

    Cached (a pure function of immutable arguments): mutated recordings repeat the same replies
    (in a 20-second run, one distinct body in six), and deep sessions carry dozens of them.
    Bodies are at most the input's length (libFuzzer's -max_len), so the cache stays small.
    """
    try:
        reply = _ref.decode_response(body, extension)
    except _RefDecodeError:
        return None
    if reply.ID == T.DATA:
        return reply.ID, len(reply.data)
    if reply.ID == T.NAME:
        return reply.ID, len(reply.entries)
    return reply.ID, -1


@functools.lru_cache(maxsize=1024)
def _version_ok(body: bytes, limit: int) -> bool:
    """The reference for the first packet: a VERSION 3 within the limit that decodes.

    Cached (a pure function of two immutable arguments): most session inputs are mutated
    recordings that keep one of a few real VERSION packets, a dozen extension pairs each.
    """
    if not 0 < len(body) <= limit or body[0] != T.VERSION:
        return False
    try:
        return _ref.Version.decode(body).version == c.SFTP_VERSION
    except _RefDecodeError:
        return False


def _check_session(data: bytes) -> None:
    if len(data) < SESSION_HEADER:
        return
    feed, sizes = data[1], data[2:6]
    plan_len = _U16.unpack_from(data, 6)[0]
    plan = data[SESSION_HEADER : SESSION_HEADER + plan_len]
    stream = data[SESSION_HEADER + plan_len :]
    run = _Session(feed, sizes)
    bodies, complete_end = _frame(stream)
    # The server's VERSION first; requests go out once it is understood (as a client does).
    version_end = 4 + len(bodies[0]) if bodies else len(stream)
    fed = run.feed(stream[:version_end])
    if bodies:
        valid = _version_ok(bodies[0], run.limit)
    else:  # incomplete: only an impossible length header is an error yet
        valid = len(stream) < 4 or 0 < _U32.unpack_from(stream)[0] <= run.limit
    if fed != valid:
        raise OracleViolation(f"the first packet is {'valid' if valid else 'invalid'} but the protocol "
                              f"{'refused' if not fed else 'accepted'} it: {run.error!r}")  # fmt: skip
    if not fed or not bodies:
        return
    if run.proto.version is None:
        raise OracleViolation("a complete VERSION was fed but the protocol has no version")
    version = _ref.Version(version=run.proto.version, extensions=run.proto.extension_pairs)
    _check_round_trip(version, bodies[0], "VERSION as understood")
    run.send_plan(plan, {_U32.unpack_from(body, 1)[0] for body in bodies[1:] if len(body) >= 5})
    run.feed(stream[version_end:])
    run.check_delivered(bodies[1:], stream[complete_end:])


def fuzz_one_input(data: bytes) -> None:
    if not data:
        return
    mode = data[0] & 3
    if mode == MODE_RESPONSE:
        _check_response(data[1:])
    elif mode == MODE_REQUEST:
        _check_request(data[1:])
    else:
        _check_session(data)


def _oracle_functions() -> list[types.FunctionType]:
    """The encoders the oracle runs: their coverage does not guide the search (see fuzz_codec)."""
    from harness.ssh.wire import fields, message

    fns = [message.Message.encode, message.Message.values, SFTPAttributes.write, SFTPAttributes.encode,
           attributes._Attrs.write, packets._ExtensionPairs.write, packets.encode_packet,
           SFTPAttributes.flags.fget, attributes._check]  # fmt: skip
    fns += [f for f in vars(codec.Writer).values() if isinstance(f, types.FunctionType)]
    for kind in vars(fields).values():
        if isinstance(kind, type) and issubclass(kind, fields.Kind) and "write" in vars(kind):
            fns.append(vars(kind)["write"])
    return fns


uninstrument(*_oracle_functions())


def main() -> None:
    from harness.fuzz.common import run

    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
