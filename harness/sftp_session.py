"""The SFTP session engine under :class:`harness.sftp_client.SFTPClient`: requests, replies, pipelines.

Why a separate engine: the protocol (framing, request ids, strict decoding) is the sans-I/O
:class:`~harness.ssh.sftp.protocol.SFTPClientProtocol`; :class:`SFTPSession` only moves bytes
between it and a :class:`~harness.channel.Channel` and routes each reply to its owner. Any
thread may wait for a reply: whichever thread finds nobody reading the channel reads it and hands
every reply to its owner (a waiting caller or a pipeline), so concurrent use from several
threads works without a thread of our own.

Why pipelines: an SFTP request waits a full round trip through the server, so a transfer that
issues one READ or WRITE at a time runs at block size / round-trip time. Both pipelines keep
many requests outstanding (sized from the server's limits@openssh.com reply) and deliver or
confirm in order:

* :class:`ReadPipeline` reads a list of ranges, or a file up to its end, in blocks of the
  server's max read length. Replies may come in any order; a short read re-requests the rest
  of its block, an EOF ends the stream at that point, and any other status is raised when the
  stream reaches it. A stream is never silently shorter than what the server has.
* :class:`WritePipeline` sends WRITEs of up to the server's max write length and collects the
  statuses; the first failure is raised, never dropped.

Payloads travel as memoryviews of the buffers the packets were received into, so a download is
copied from the channel once, into its packet buffer, and then written out from there; a WRITE
is read from the local file straight into the buffer that goes to the channel.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from harness.ssh.errors import ConnectionLost, SSHException
from harness.ssh.sftp import constants as c
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.attributes import SFTPAttributes
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.sftp.constants import Status
from harness.ssh.sftp.errors import SFTPError, SFTPProtocolError, status_error
from harness.ssh.sftp.protocol import Response, SFTPClientProtocol
from harness.ssh.wire.message import Message

if TYPE_CHECKING:
    from harness.channel import Channel

log = logging.getLogger("harness.sftp")

# Bytes kept in flight by a transfer: enough to cover the round trip through sshd and the
# sftp-server on loopback several times over, small enough that a transfer does not queue tens
# of MiB in the server. Divided by the block size it gives the request count. Reads and writes
# differ, measured (10 fresh 128 MiB gets per setting against sshd 9.2, then `harness bench --only
# sftp` x3): reads in flight 2-4 MiB gave a median 620-660 MB/s, 8 MiB 520, 16 MiB 270-380 (the
# deeper the queue, the more replies wait in sshd's and our buffers, and the window doubles with
# it); writes were 10-30% faster at 8 MiB than at 4.
READ_PIPELINE_BYTES = 4 * 1024 * 1024
WRITE_PIPELINE_BYTES = 8 * 1024 * 1024
PIPELINE_BYTES = READ_PIPELINE_BYTES  # what the channel window is sized from (reads arrive through it)
# Request count bounds: at least a few blocks in flight even with huge blocks, and not more than
# OpenSSH's server buffers comfortably with small (32 KiB, no limits extension) blocks.
MIN_PIPELINE_REQUESTS = 4
MAX_PIPELINE_REQUESTS = 64


class SFTPVFSAttributes(NamedTuple):
    """statvfs@openssh.com reply, named like ``os.statvfs_result``."""

    f_bsize: int
    f_frsize: int
    f_blocks: int
    f_bfree: int
    f_bavail: int
    f_files: int
    f_ffree: int
    f_favail: int
    f_fsid: int
    f_flag: int
    f_namemax: int


class SFTPLimits(NamedTuple):
    """limits@openssh.com reply (0 means "not specified")."""

    max_packet_length: int
    max_read_length: int
    max_write_length: int
    max_open_handles: int


def _discard(response: Response) -> None:
    """Callback of abandoned requests: their replies are dropped."""


def _requests_for(block: int, in_flight: int) -> int:
    return max(MIN_PIPELINE_REQUESTS, min(MAX_PIPELINE_REQUESTS, in_flight // max(1, block)))


class SFTPSession:
    """One SFTP v3 session on a channel: handshake, limits, request/reply routing."""

    def __init__(self, sock: Channel) -> None:
        self.sock = sock
        self.logger = log
        self._proto = SFTPClientProtocol()
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pumping = False
        self._cb_lock = threading.Lock()
        self._callbacks: dict[int, Callable[[Response], None]] = {}
        self._results: dict[int, Message] = {}
        self._broken: BaseException | None = None
        self._cwd: str | None = None
        self._closed = False
        self.limits: SFTPLimits | None = None
        self.read_length = c.DEFAULT_TRANSFER_LENGTH
        self.write_length = c.DEFAULT_TRANSFER_LENGTH
        self._proto.start()
        self._flush()
        self._wait_for(lambda: self._proto.version is not None, "the server's FXP_VERSION")
        self.server_extensions: dict[str, bytes] = dict(self._proto.extensions)
        # OpenSSH's server (also behind Dropbear, which runs OpenSSH's sftp-server) takes SYMLINK's
        # paths in reverse order; its @openssh.com extensions identify it even without a banner.
        remote = (getattr(sock.transport, "remote_version", "") or "") if hasattr(sock, "transport") else ""
        self._symlink_reversed = "OpenSSH" in remote or any(n.endswith("@openssh.com") for n in self.server_extensions)
        if self._proto.supports(c.EXT_LIMITS):
            self._load_limits()
        self.read_requests = _requests_for(self.read_length, READ_PIPELINE_BYTES)
        self.write_requests = _requests_for(self.write_length, WRITE_PIPELINE_BYTES)
        log.debug("SFTP v%s, extensions %s, read %d x %d, write %d x %d", self._proto.version,
                  sorted(self.server_extensions), self.read_length, self.read_requests, self.write_length,
                  self.write_requests)  # fmt: skip

    def _load_limits(self) -> None:
        reply = self._request(p.Limits())
        if reply.ID != T.EXTENDED_REPLY:
            raise self._status_error(reply, None)
        self.limits = SFTPLimits(reply.max_packet_length, reply.max_read_length, reply.max_write_length,
                                 reply.max_open_handles)  # fmt: skip
        packet_room = reply.max_packet_length or c.MAX_PACKET_LENGTH
        if reply.max_read_length:
            # DATA's header is 13 bytes; stay within both the server's packet limit and ours.
            self.read_length = max(1, min(c.MAX_READ_LENGTH, reply.max_read_length, packet_room - 13))
        if reply.max_write_length:
            # WRITE's header is 25 bytes plus the handle (OpenSSH's handles are 4 bytes; allow 256).
            self.write_length = max(1, min(c.MAX_WRITE_LENGTH, reply.max_write_length, packet_room - 25 - 256))

    # == plumbing ==========================================================================

    def _flush(self) -> None:
        data = self._proto.data_to_send()
        if data:
            self.sock.sendall(data)

    def _check(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise OSError(errno.EBADF, "SFTP session is closed")

    def _send(self, packet: Message, callback: Callable[[Response], None] | None = None) -> int:
        self._check()
        with self._send_lock:
            rid = self._proto.send(packet)
            if callback is not None:
                self._callbacks[rid] = callback
            self._flush()
        return rid

    def _send_reads(self, handle: bytes, ranges: list[tuple[int, int]],
                    callback: Callable[[Response], None]) -> list[int]:  # fmt: skip
        """Queue several READs and send them in one channel write (pipelines top up in batches)."""
        self._check()
        ids = []
        with self._send_lock:
            for offset, length in ranges:
                rid = self._proto.send(p.Read(handle=handle, offset=offset, length=length))
                self._callbacks[rid] = callback
                ids.append(rid)
            self._flush()
        return ids

    def _proto_write_header_length(self, handle: bytes) -> int:
        return 4 + 1 + 4 + 4 + len(handle) + 8 + 4

    def _send_write(self, handle: bytes, offset: int, buf: bytearray, n: int,
                    callback: Callable[[Response], None]) -> int:  # fmt: skip
        """WRITE ``n`` bytes that sit in ``buf`` after room for the header: header and data go
        out in one channel write without a join."""
        self._check()
        with self._send_lock:
            rid, header = self._proto.write_header(handle, offset, n)
            hlen = len(header)
            buf[:hlen] = header
            self._callbacks[rid] = callback
            self._flush()
            self.sock.sendall(memoryview(buf)[: hlen + n])
        return rid

    def _abandon(self, inflight: Iterable[int]) -> None:
        with self._cb_lock:
            for rid in inflight:
                if rid in self._callbacks:
                    self._callbacks[rid] = _discard

    def _wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        """Block until ``predicate()``; read the channel ourselves if no other thread is."""
        cond = self._cond
        while True:
            with cond:
                while not predicate():
                    if self._broken is not None:
                        raise self._broken
                    if not self._pumping:
                        self._pumping = True
                        break
                    if not cond.wait(self.sock.timeout):
                        raise TimeoutError(f"timed out waiting for {what}")
                else:
                    return
            try:
                self._pump()
            finally:
                with cond:
                    self._pumping = False
                    cond.notify_all()

    def _pump(self) -> None:
        """One channel read into the protocol; hand out every complete reply."""
        proto = self._proto
        try:
            n = self.sock.recv_into(proto.get_buffer())
            if n == 0:
                raise ConnectionLost("the server closed the SFTP channel")
            proto.buffer_updated(n)
        except (SFTPProtocolError, SSHException, OSError) as exc:
            if not isinstance(exc, TimeoutError):
                self._broken = exc
                if isinstance(exc, SFTPProtocolError | SSHException) and not self.sock.closed:
                    self.sock.close()
            raise
        while True:
            response = proto.next_response()
            if response is None:
                return
            with self._cb_lock:
                callback = self._callbacks.pop(response.request_id, None)
            if callback is None:
                self._results[response.request_id] = response.packet
            else:
                callback(response)

    def _request(self, packet: Message, path: str | None = None) -> Message:
        """Send ``packet`` and wait for its reply."""
        rid = self._send(packet)
        results = self._results
        self._wait_for(lambda: rid in results, f"the reply to {packet.NAME} {path or ''}".rstrip())
        return results.pop(rid)

    def _request_many(self, packets: list[Message]) -> list[Message]:
        """Send all ``packets`` at once, then wait for all replies (one round trip)."""
        ids = [self._send(packet) for packet in packets]
        results = self._results
        self._wait_for(lambda: all(rid in results for rid in ids), f"the replies to {len(ids)} requests")
        return [results.pop(rid) for rid in ids]

    def _status_error(self, packet: Message, path: str | None, path2: str | None = None) -> BaseException:
        if packet.ID != T.STATUS:
            return SFTPProtocolError(f"unexpected {packet.NAME}")
        if packet.code == Status.OK:
            return SFTPProtocolError(f"SSH_FX_OK where a result was required (path {path!r})")
        return status_error(packet.code, packet.message, path, path2)

    def _status(self, packet: Message, path: str | None = None, path2: str | None = None) -> None:
        if packet.ID != T.STATUS or packet.code != Status.OK:
            raise self._status_error(packet, path, path2)

    def _expect(self, packet: Message, packet_type: int, path: str | None) -> Message:
        if packet.ID != packet_type:  # noqa: SIM300 - the packet's type against the expected one
            raise self._status_error(packet, path)
        return packet

    def _attrs(self, packet: Message, path: str | None) -> SFTPAttributes:
        attrs: SFTPAttributes = self._expect(packet, T.ATTRS, path).attrs
        if path is not None:
            attrs.filename = os.path.basename(path.rstrip("/")) or path
        return attrs

    def _vfs(self, packet: Message, path: str) -> SFTPVFSAttributes:
        reply = self._expect(packet, T.EXTENDED_REPLY, path)
        return SFTPVFSAttributes(*(getattr(reply, f) for f in p.STATVFS_FIELDS))

    def _require(self, extension: str) -> None:
        if not self._proto.supports(extension):
            exc = SFTPError(errno.EOPNOTSUPP, f"the server does not offer {extension}")
            exc.code = Status.OP_UNSUPPORTED
            raise exc

    def _fstat_size(self, handle: bytes, path: str) -> int | None:
        return self._attrs(self._request(p.Fstat(handle=handle), path), path).st_size

    @staticmethod
    def _times(times: tuple[float, float] | None) -> tuple[int, int]:
        if times is None:
            now = int(time.time())
            return now, now
        return int(times[0]), int(times[1])


class _Piece:
    """One block of a read: requested as one READ, re-requested in parts after short reads."""

    __slots__ = ("eof", "error", "group", "length", "next_offset", "offset", "parts", "remaining")

    def __init__(self, offset: int, length: int, group: int) -> None:
        self.offset = offset
        self.length = length
        self.group = group
        self.next_offset = offset  # where the next READ for this piece starts
        self.remaining = length
        self.parts: list[memoryview] = []
        self.eof = False
        self.error: BaseException | None = None  # raised when delivery reaches this piece

    @property
    def complete(self) -> bool:
        return self.eof or self.remaining == 0 or self.error is not None

    def data(self) -> memoryview | bytes:
        if len(self.parts) == 1:
            return self.parts[0]
        return b"".join(self.parts)


class ReadPipeline:
    """Pipelined READs on one handle, delivered in order (see the module docstring).

    ``ranges`` gives explicit (offset, length) ranges (``readv``); with ``ranges=None`` the file
    is read from ``start`` to its end, ``size_hint`` (the size from FSTAT) saying how far to
    request ahead before one more READ confirms the end. The file may be longer than the hint
    (it is then read on) or shorter (the stream ends at the EOF).
    """

    def __init__(self, client: SFTPSession, handle: bytes, path: str, *, start: int = 0, size_hint: int = 0,
                 ranges: Iterable[tuple[int, int]] | None = None, max_requests: int | None = None) -> None:  # fmt: skip
        self._client = client
        self._handle = handle
        self._path = path
        self._block = client.read_length
        self._max_requests = max_requests or client.read_requests
        self._batch = max(1, self._max_requests // 4)
        self._sequential = ranges is None
        self._pieces: deque[_Piece] = deque()  # in delivery order, not yet delivered
        self._to_request: deque[_Piece] = deque()  # pieces (or their rests) awaiting a READ
        self._inflight: dict[int, tuple[_Piece, int, int]] = {}  # request id -> (piece, offset, length)
        self._arrived: deque[Response] = deque()
        self._cancelled = False
        self._finished = False  # sequential: an EOF or error was seen, no new pieces
        self._ranges: Iterator[tuple[int, int, int]] | None = None
        if ranges is None:
            self._next_offset = start
            self._limit = max(start, size_hint)
            self._probe_sent = False
        else:
            self._ranges = self._split(ranges)
        self.position = start  # offset of the next byte delivered (sequential mode)

    def _split(self, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int, int]]:
        for group, (offset, length) in enumerate(ranges):
            if offset < 0 or length < 0:
                raise ValueError(f"invalid read range ({offset}, {length})")
            end = offset + length
            while offset < end:
                n = min(self._block, end - offset)
                yield offset, n, group
                offset += n
            if length == 0:
                yield offset, 0, group

    # -- issuing -------------------------------------------------------------------------------

    def _new_piece(self) -> _Piece | None:
        if self._ranges is not None:
            for offset, length, group in self._ranges:
                return _Piece(offset, length, group)
            self._ranges = None
            return None
        if not self._sequential or self._finished:
            return None
        offset = self._next_offset
        if offset < self._limit:
            n = min(self._block, self._limit - offset)
        elif not self._probe_sent:
            n = self._block  # one READ past the expected end: EOF confirms it
            self._probe_sent = True
        else:
            return None
        self._next_offset = offset + n
        return _Piece(offset, n, 0)

    def _top_up(self) -> None:
        room = self._max_requests - len(self._inflight)
        if room < self._batch and self._inflight and not self._to_request:
            # Top up in batches: one channel write (one lock round, one GIL hand-over to the
            # reader thread) per several READs instead of per READ.
            return
        batch: list[tuple[_Piece, int, int]] = []
        while room > 0:
            if self._to_request:
                piece = self._to_request.popleft()
            else:
                piece = self._new_piece()
                if piece is None:
                    break
                self._pieces.append(piece)
                if piece.length == 0:
                    continue
            batch.append((piece, piece.next_offset, piece.remaining))
            room -= 1
        if batch:
            ids = self._client._send_reads(self._handle, [(off, n) for _, off, n in batch], self._arrived.append)
            for rid, entry in zip(ids, batch, strict=True):
                self._inflight[rid] = entry

    # -- receiving -----------------------------------------------------------------------------

    def _process(self, response: Response) -> None:
        piece, offset, length = self._inflight.pop(response.request_id)
        packet = response.packet
        if response.packet.ID == T.DATA:
            n = len(packet.data)
            if n == 0:
                raise SFTPProtocolError(f"empty FXP_DATA for a READ of {length} bytes at {offset} of {self._path!r}")
            piece.parts.append(packet.data)
            piece.next_offset = offset + n
            piece.remaining -= n
            if n < length:
                self._to_request.append(piece)  # short read: ask for the rest of the block
            elif self._sequential and offset + n >= self._limit:
                # The file is longer than the size we were told: keep the pipe full past it.
                self._limit = offset + n + self._block * self._max_requests
                self._probe_sent = False
            return
        if packet.code == Status.EOF:
            piece.eof = True
        else:
            # Raised when delivery reaches this piece, not now: replies come in any order, and a
            # failure past the end of the file (some servers fail instead of answering EOF) must
            # lose against an EOF at a lower offset that may still be on its way.
            piece.error = self._client._status_error(packet, self._path)
        if self._sequential:
            self._finished = True  # nothing after the first EOF or error is asked for

    def _fetch(self) -> None:
        """Wait for at least one reply and process everything that arrived."""
        self._client._wait_for(lambda: bool(self._arrived), "READ replies")
        while self._arrived:
            self._process(self._arrived.popleft())

    def next_piece(self) -> tuple[int, _Piece] | None:
        """The next completed piece in order (with its range index), or None at the end."""
        try:
            while True:
                if self._pieces and self._pieces[0].complete:
                    piece = self._pieces.popleft()
                    if piece.error is not None:
                        raise piece.error
                    if self._sequential:
                        self.position = piece.offset + (piece.length - piece.remaining)
                        if piece.eof:  # the file ends here: drop everything after it
                            self._finished = True
                            self.cancel()
                    if not self._cancelled:
                        self._top_up()  # refill before the caller spends time on this piece
                    return piece.group, piece
                if self._cancelled:
                    return None
                self._top_up()
                if self._pieces and self._pieces[0].complete:
                    continue
                if not self._inflight:
                    return None  # nothing in flight and nothing left to ask for
                self._fetch()
        except BaseException:
            self.cancel()
            raise

    def chunks(self) -> Iterator[memoryview | bytes]:
        """Data in file order (sequential mode), one block at a time."""
        try:
            while True:
                item = self.next_piece()
                if item is None:
                    return
                data = item[1].data()
                if data:
                    yield data
        finally:
            self.cancel()  # a consumer that stops early leaves nothing in flight for us

    def groups(self) -> Iterator[bytes]:
        """One bytes object per requested range, in the order given (``readv``)."""
        current, parts = -1, []
        try:
            while True:
                item = self.next_piece()
                if item is None:
                    break
                group, piece = item
                if group != current and current >= 0:
                    yield b"".join(parts)
                    parts = []
                current = group
                parts.append(piece.data())
            if current >= 0:
                yield b"".join(parts)
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop (nothing more is delivered); replies still on their way are dropped on arrival."""
        if not self._cancelled:
            self._cancelled = True
            self._client._abandon(self._inflight)
            self._inflight.clear()
            self._pieces.clear()
            self._to_request.clear()
            self._ranges = None


class WritePipeline:
    """Pipelined WRITEs on one handle; :meth:`drain` waits for every status."""

    def __init__(self, client: SFTPSession, handle: bytes, path: str, max_requests: int | None = None) -> None:
        self._client = client
        self._handle = handle
        self._path = path
        self._max_requests = max_requests or client.write_requests
        self._arrived: deque[Response] = deque()
        self._inflight = 0
        self._error: BaseException | None = None
        self.header_length = client._proto_write_header_length(handle)
        self.block = client.write_length

    def _reap(self, block: bool) -> None:
        if block:
            self._client._wait_for(lambda: bool(self._arrived), "WRITE statuses")
        while self._arrived:
            packet = self._arrived.popleft().packet
            self._inflight -= 1
            if packet.code != Status.OK and self._error is None:
                self._error = self._client._status_error(packet, self._path)

    def _check(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def send_buffer(self, offset: int, buf: bytearray, n: int) -> None:
        """Send ``n`` data bytes that sit in ``buf`` after :attr:`header_length` bytes of room;
        ``buf`` may be reused as soon as this returns (the channel has copied it)."""
        while self._inflight >= self._max_requests:
            self._reap(True)
        self._check()
        self._client._send_write(self._handle, offset, buf, n, self._arrived.append)
        self._inflight += 1
        self._reap(False)
        self._check()

    def send(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` at ``offset`` in blocks of the server's max write length."""
        view = memoryview(data)
        hlen = self.header_length
        buf = bytearray(hlen + min(self.block, len(view)))
        while view:
            n = min(self.block, len(view))
            buf[hlen : hlen + n] = view[:n]
            self.send_buffer(offset, buf, n)
            offset += n
            view = view[n:]

    def drain(self) -> None:
        try:
            while self._inflight:
                self._reap(True)
        finally:
            self._check()

    @property
    def pending(self) -> int:
        return self._inflight
