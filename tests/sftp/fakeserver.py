"""An in-memory SFTP server and channel for client tests: every fault on demand, no sockets.

Why: the pipelines' promises (in-order delivery whatever the reply order, short reads filled,
an error anywhere raised, a file cut short never taken for complete) need servers that reorder,
shorten and fail on purpose, deterministically. Real servers are covered in tests/integration.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from harness.ssh.sftp import packets as p
from harness.ssh.sftp.attributes import SFTPAttributes
from harness.ssh.sftp.constants import OpenFlag, Status
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.wire.message import Message

OPENSSH_EXTENSIONS = (
    ("posix-rename@openssh.com", b"1"), ("statvfs@openssh.com", b"2"), ("fstatvfs@openssh.com", b"2"),
    ("hardlink@openssh.com", b"1"), ("fsync@openssh.com", b"1"), ("lsetstat@openssh.com", b"1"),
    ("limits@openssh.com", b"1"), ("expand-path@openssh.com", b"1"),
)  # fmt: skip

ReadHook = Callable[[bytes, int, int], Message | None]


class FakeServer:
    """Answers requests from an in-memory file table; ``reorder`` holds replies back and
    releases them newest first whenever the client waits."""

    def __init__(self, files: dict[bytes, bytes] | None = None, *,
                 extensions: tuple[tuple[str, bytes], ...] = OPENSSH_EXTENSIONS,
                 limits: tuple[int, int, int, int] = (262144, 261120, 261120, 64)) -> None:  # fmt: skip
        self.files = {k: bytearray(v) for k, v in (files or {}).items()}
        self.extensions = extensions
        self.limits = limits
        self.out = bytearray()
        self.held: list[bytes] = []
        self.reorder = False
        self.max_read: int | None = None  # serve at most this much per READ (short reads)
        self.read_hook: ReadHook | None = None
        self.write_hook: Callable[[bytes, int, bytes], Message | None] | None = None
        self.stat_size: dict[bytes, int] = {}  # lie about sizes in (F)STAT
        self.requests: list[Message] = []
        self.extra_replies: list[bytes] = []  # raw bytes appended after the next reply
        self._in = bytearray()
        self._handles: dict[bytes, bytes] = {}
        self._dirs: dict[bytes, list[bytes]] = {}
        self._next_handle = 0

    # -- plumbing ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._in += data
        while len(self._in) >= 4:
            (length,) = struct.unpack_from(">I", self._in)
            if len(self._in) < 4 + length:
                return
            body = bytes(self._in[4 : 4 + length])
            del self._in[: 4 + length]
            packet = p.decode_request(body)
            self.requests.append(packet)
            reply = self.handle(packet)
            raw = p.encode_packet(reply)
            if self.reorder and packet.ID != T.INIT:
                self.held.append(raw)
            else:
                self.out += raw
            for extra in self.extra_replies:
                self.out += extra
            self.extra_replies.clear()

    def release(self) -> None:
        while self.held:
            self.out += self.held.pop()

    # -- request handling ----------------------------------------------------------------------

    def status(self, rid: int, code: int = Status.OK, message: str = "") -> Message:
        return p.StatusPacket(request_id=rid, code=code, message=message or Status(code).name.lower(), language="")

    def _handle_for(self, path: bytes, directory: bool = False) -> bytes:
        handle = f"{'d' if directory else 'f'}{self._next_handle}".encode()
        self._next_handle += 1
        self._handles[handle] = path
        return handle

    def handle(self, packet: Message) -> Message:
        kind = packet.ID
        if kind == T.INIT:
            return p.Version(version=3, extensions=self.extensions)
        rid = packet.request_id
        if kind == T.OPEN:
            name = packet.filename
            if name not in self.files:
                if not packet.pflags & OpenFlag.CREAT:
                    return self.status(rid, Status.NO_SUCH_FILE)
                self.files[name] = bytearray()
            elif packet.pflags & OpenFlag.EXCL:
                return self.status(rid, Status.FAILURE)
            if packet.pflags & OpenFlag.TRUNC:
                self.files[name] = bytearray()
            return p.Handle(request_id=rid, handle=self._handle_for(name))
        if kind == T.OPENDIR:
            names = sorted(k.rpartition(b"/")[2] for k in self.files if k.startswith(packet.path.rstrip(b"/") + b"/"))
            handle = self._handle_for(packet.path, directory=True)
            self._dirs[handle] = [b".", b"..", *names]
            return p.Handle(request_id=rid, handle=handle)
        if kind == T.READDIR:
            pending = self._dirs.get(packet.handle)
            if pending is None:
                return self.status(rid, Status.FAILURE, "bad handle")
            if not pending:
                return self.status(rid, Status.EOF)
            batch, self._dirs[packet.handle] = pending[:3], pending[3:]
            return p.Name(request_id=rid, entries=tuple((n, b"-rw " + n, SFTPAttributes(st_size=1)) for n in batch))
        if kind == T.CLOSE:
            self._handles.pop(packet.handle, None)
            self._dirs.pop(packet.handle, None)
            return self.status(rid)
        if kind == T.READ:
            path = self._handles[packet.handle]
            if self.read_hook is not None:
                override = self.read_hook(path, packet.offset, packet.length)
                if override is not None:
                    override.request_id = rid
                    return override
            data = self.files[path]
            if packet.offset >= len(data):
                return self.status(rid, Status.EOF)
            n = packet.length if self.max_read is None else min(packet.length, self.max_read)
            return p.Data(request_id=rid, data=bytes(data[packet.offset : packet.offset + n]))
        if kind == T.WRITE:
            path = self._handles[packet.handle]
            if self.write_hook is not None:
                override = self.write_hook(path, packet.offset, packet.data)
                if override is not None:
                    override.request_id = rid
                    return override
            data = self.files[path]
            end = packet.offset + len(packet.data)
            if len(data) < end:
                data.extend(bytes(end - len(data)))
            data[packet.offset : end] = packet.data
            return self.status(rid)
        if kind in (T.STAT, T.LSTAT, T.FSTAT):
            path = self._handles[packet.handle] if kind == T.FSTAT else packet.path
            if path not in self.files:
                if any(k.startswith(path.rstrip(b"/") + b"/") for k in self.files):
                    return p.Attrs(request_id=rid, attrs=SFTPAttributes(st_size=4096, st_mode=0o40755))
                return self.status(rid, Status.NO_SUCH_FILE)
            size = self.stat_size.get(path, len(self.files[path]))
            return p.Attrs(request_id=rid, attrs=SFTPAttributes(st_size=size, st_mode=0o100644))
        if kind == T.REMOVE:
            if self.files.pop(packet.filename, None) is None:
                return self.status(rid, Status.NO_SUCH_FILE)
            return self.status(rid)
        if kind == T.SYMLINK:
            return self.status(rid)
        if kind == T.REALPATH:
            return p.Name(request_id=rid, entries=((b"/" + packet.path.lstrip(b"./"), b"", SFTPAttributes()),))
        if kind == T.EXTENDED and packet.request == "limits@openssh.com":
            a, b, c, d = self.limits
            return p.LimitsReply(request_id=rid, max_packet_length=a, max_read_length=b, max_write_length=c,
                                 max_open_handles=d)  # fmt: skip
        return self.status(rid, Status.OP_UNSUPPORTED)


class FakeChannel:
    """Just enough of :class:`harness.channel.Channel` for the SFTP client."""

    def __init__(self, server: FakeServer, chunk: int = 1 << 20) -> None:
        self.server = server
        self.chunk = chunk
        self.timeout: float | None = 5.0
        self.closed = False

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            raise OSError("channel closed")
        self.server.feed(bytes(data))

    def recv_into(self, view: memoryview) -> int:
        out = self.server.out
        if not out:
            self.server.release()
        n = min(len(view), len(out), self.chunk)
        view[:n] = out[:n]
        del out[:n]
        return n

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def close(self) -> None:
        self.closed = True
