"""The client side of an SFTP v3 session, sans I/O: packets in, bytes out; bytes in, responses out.

Why sans-I/O: framing, the version handshake and request-id bookkeeping are where servers
deviate (a reply to a request never sent, a READ answered with a HANDLE, a packet longer than
allowed), and all of it can be tested and fuzzed with plain bytes. The threaded client in
:mod:`harness.sftp_client` only moves bytes between this object and an SSH channel.

Receiving follows asyncio's BufferedProtocol: :meth:`get_buffer` hands out the memory the next
bytes should land in (the rest of the current packet, or a small scratch area while a length
header is awaited), :meth:`buffer_updated` says how many arrived. A large DATA packet is thus
copied once, from the channel straight into its own buffer, and its payload reaches the caller
as a memoryview of that buffer. :meth:`receive_data` is the same for callers holding bytes.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import NamedTuple

from harness.ssh.errors import DecodeError, LocalProtocolError
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.constants import MAX_OUTSTANDING_REQUESTS, MAX_PACKET_LENGTH, SFTP_VERSION
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.sftp.errors import SFTPProtocolError
from harness.ssh.wire.message import Message

_U32 = struct.Struct(">I")
_WRITE_HEAD = struct.Struct(">IBII")  # length, type, request id, handle length
_WRITE_TAIL = struct.Struct(">QI")  # offset, data length
# Bytes taken per read while a length header is awaited: small replies (STATUS, ATTRS) arrive
# many per read, while at most this much of a large DATA packet is copied an extra time.
SCRATCH_SIZE = 4096
_ID_MASK = 0xFFFFFFFF
_HEADER = 4  # the uint32 length in front of every packet
# INIT never varies: encoded once rather than by every session (the fuzzer starts thousands a second).
_INIT = p.encode_packet(p.Init(version=SFTP_VERSION, extensions=()))


class Response(NamedTuple):
    """One reply: the id and type of the request it answers, and the decoded packet."""

    request_id: int
    request_type: int
    packet: Message


class _Pending:
    """What we remember about an outstanding request (its data is not kept)."""

    __slots__ = ("abandoned", "allowed", "extension", "length", "packet_type")

    def __init__(self, packet_type: int, extension: str | None, length: int) -> None:
        self.packet_type = packet_type
        self.extension = extension
        self.length = length  # READ: the most DATA bytes the reply may carry
        self.abandoned = False
        if packet_type == T.EXTENDED:
            self.allowed = p.EXTENDED_ALLOWED_RESPONSES.get(extension or "", p.ANY_RESPONSE)
        else:
            self.allowed = p.ALLOWED_RESPONSES[packet_type]


class SFTPClientProtocol:
    """One SFTP session seen from the client. Not thread-safe: the caller serialises calls."""

    def __init__(self, max_packet_length: int = MAX_PACKET_LENGTH) -> None:
        self.max_packet_length = max_packet_length
        self.version: int | None = None
        self.extension_pairs: tuple[tuple[str, bytes], ...] = ()
        self.extensions: dict[str, bytes] = {}
        self._out = bytearray()
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self._responses: deque[Response] = deque()
        self._started = False
        self.error: Exception | None = None
        # receive state: either collecting a length header in the scratch area, or a body. One
        # view, fill count and target for both, so that get_buffer and buffer_updated (once per
        # read: per byte for a byte-wise peer or fuzzer) branch on which only once it is full.
        self._scratch = bytearray(SCRATCH_SIZE)
        self._scratch_view = memoryview(self._scratch)
        self._body: bytearray | None = None
        self._view = self._scratch_view  # where the next bytes go: the scratch area or the body
        self._filled = 0  # bytes in it so far
        self._need = _HEADER  # bytes it must hold before there is something to parse

    # == sending ===========================================================================

    def start(self) -> None:
        """Queue INIT (version 3, no extensions: draft-02 defines none for the client)."""
        if self._started:
            raise LocalProtocolError("SFTP session already started")
        self._started = True
        self._out += _INIT

    def supports(self, extension: str) -> bool:
        """Whether the server announced ``extension`` in VERSION (only then may we use it)."""
        return extension in self.extensions

    def _allocate(self, packet_type: int, extension: str | None = None, length: int = 0) -> int:
        self._check_usable()
        if len(self._pending) >= MAX_OUTSTANDING_REQUESTS:
            raise LocalProtocolError(f"more than {MAX_OUTSTANDING_REQUESTS} SFTP requests outstanding")
        request_id = self._next_id
        while request_id in self._pending:
            request_id = (request_id + 1) & _ID_MASK
        self._next_id = (request_id + 1) & _ID_MASK
        self._pending[request_id] = _Pending(packet_type, extension, length)
        return request_id

    def _check_usable(self) -> None:
        if self.error is not None:
            raise self.error
        if self.version is None:
            raise LocalProtocolError("SFTP requests need the server's VERSION first")

    def send(self, packet: Message) -> int:
        """Assign the next request id to ``packet``, queue it, return the id."""
        if packet.ID in (T.INIT, T.VERSION) or packet.ID not in p.REQUEST_TABLE:
            raise LocalProtocolError(f"{packet.NAME} is not a request")
        extension = getattr(packet, "request", None) if packet.ID == T.EXTENDED else None
        length = packet.length if packet.ID == T.READ else 0
        request_id = self._allocate(packet.ID, extension, length)
        packet.request_id = request_id
        try:
            self._out += p.encode_packet(packet)
        except BaseException:
            del self._pending[request_id]
            raise
        return request_id

    def write_header(self, handle: bytes, offset: int, length: int) -> tuple[int, bytes]:
        """Id and wire header of a WRITE whose ``length`` data bytes the caller sends right after.

        The hot path of uploads: the data never passes through an encoder or a join. The caller
        must send :meth:`data_to_send` first so requests leave in id order.
        """
        request_id = self._allocate(T.WRITE)
        total = 1 + 4 + 4 + len(handle) + 8 + 4 + length
        if total > self.max_packet_length:
            del self._pending[request_id]
            raise LocalProtocolError(f"WRITE of {length} bytes exceeds the packet limit {self.max_packet_length}")
        header = _WRITE_HEAD.pack(total, T.WRITE, request_id, len(handle)) + handle + _WRITE_TAIL.pack(offset, length)
        return request_id, header

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def abandon(self, request_id: int) -> None:
        """Drop the reply to ``request_id`` when it comes (a pipeline stopped early); it is still
        checked for validity, so a bad reply is reported even if nobody wants it."""
        pending = self._pending.get(request_id)
        if pending is not None:
            pending.abandoned = True

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    # == receiving =========================================================================

    def get_buffer(self) -> memoryview:
        """Memory for the next incoming bytes (never empty)."""
        return self._view[self._filled :]

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were written at the start of the last :meth:`get_buffer`. Raises
        :class:`SFTPProtocolError` or :class:`DecodeError` on anything malformed."""
        if self.error is not None:
            raise self.error
        self._filled += nbytes
        if self._filled < self._need:
            return
        try:
            body = self._body
            if body is None:
                self._parse_scratch()
                return
            self._body = None
            self._view, self._filled, self._need = self._scratch_view, 0, _HEADER
            self._deliver(body)
        except (DecodeError, SFTPProtocolError) as exc:
            self.error = exc
            raise

    def _parse_scratch(self) -> None:
        scratch, end, pos = self._scratch, self._filled, 0
        while end - pos >= _HEADER:
            length = _U32.unpack_from(scratch, pos)[0]
            if length == 0 or length > self.max_packet_length:
                raise SFTPProtocolError(f"SFTP packet length {length} is outside 1..{self.max_packet_length}")
            start = pos + _HEADER
            if end - start >= length:
                pos = start + length
                self._deliver(scratch[start:pos])
                continue
            body = bytearray(length)
            have = end - start
            body[:have] = self._scratch_view[start:end]
            self._body = body
            self._view, self._filled, self._need = memoryview(body), have, length
            return
        # what is left is part of a length header: move it to the front
        rest = end - pos
        if rest and pos:
            scratch[:rest] = scratch[pos:end]
        self._filled = rest

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes from the channel (any chunking)."""
        if self.error is not None:
            raise self.error
        view = memoryview(data)
        while view:
            buf = self.get_buffer()
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            view = view[n:]
            self.buffer_updated(n)

    def next_response(self) -> Response | None:
        return self._responses.popleft() if self._responses else None

    def _deliver(self, body: bytearray) -> None:
        kind = body[0]
        if self.version is None:
            self._on_version(body)
            return
        if kind == T.VERSION:
            raise SFTPProtocolError("a second FXP_VERSION after the session started")
        if len(body) < 5:
            raise DecodeError(f"{p.packet_name(kind)} of {len(body)} bytes has no request id")
        request_id = _U32.unpack_from(body, 1)[0]
        pending = self._pending.get(request_id)
        if pending is None:
            raise SFTPProtocolError(f"{p.packet_name(kind)} for request id {request_id}, which is not outstanding")
        if kind not in pending.allowed:
            expected = ", ".join(sorted(p.packet_name(t) for t in pending.allowed))
            raise SFTPProtocolError(f"{p.packet_name(kind)} answers {p.packet_name(pending.packet_type)} "
                                    f"(request id {request_id}); expected {expected}")  # fmt: skip
        packet = p.decode_response(body, pending.extension)
        del self._pending[request_id]
        # Only a READ bounds its DATA; an extension we have no table for may answer with DATA of any size.
        if kind == T.DATA and pending.packet_type == T.READ and len(packet.data) > pending.length:
            raise SFTPProtocolError(f"FXP_DATA of {len(packet.data)} bytes answers a READ of {pending.length}")
        if kind == T.NAME and pending.packet_type != T.READDIR and len(packet.entries) != 1:
            raise SFTPProtocolError(f"FXP_NAME with {len(packet.entries)} entries answers "
                                    f"{p.packet_name(pending.packet_type)}, which returns exactly one")  # fmt: skip
        if not pending.abandoned:
            self._responses.append(Response(request_id, pending.packet_type, packet))

    def _on_version(self, body: bytearray) -> None:
        if body[0] != T.VERSION:
            raise SFTPProtocolError(f"{p.packet_name(body[0])} before FXP_VERSION")
        packet = p.Version.decode(bytes(body))
        if packet.version != SFTP_VERSION:
            raise SFTPProtocolError(f"server speaks SFTP version {packet.version}; this client speaks only "
                                    f"{SFTP_VERSION} (draft-ietf-secsh-filexfer-02)")  # fmt: skip
        self.version = packet.version
        self.extension_pairs = packet.extensions
        self.extensions = dict(packet.extensions)
