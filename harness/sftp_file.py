"""Remote files of :class:`harness.sftp_client.SFTPClient` (paramiko's ``SFTPFile``).

Why its own buffers: paramiko users read line by line, seek, mix reads and writes; those small
operations are served from a read buffer and a write buffer, while large reads, ``read()`` of
the rest, ``prefetch``, ``readv`` and every flush go through the pipelines of
:mod:`harness.sftp_session`, so a file object moves bulk data as fast as ``get``/``put``.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import stat as stat_module
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from harness.sftp_session import ReadPipeline, WritePipeline
from harness.ssh.errors import SSHException
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.attributes import SFTPAttributes
from harness.ssh.sftp.constants import EXT_FSTATVFS, EXT_FSYNC, Status
from harness.ssh.sftp.constants import PacketType as T

if TYPE_CHECKING:
    from harness.sftp_session import SFTPSession, SFTPVFSAttributes

log = logging.getLogger("harness.sftp")

# paramiko's default buffer for SFTPFile (bufsize=-1) and its meaning of 0 / 1.
DEFAULT_BUFSIZE = 8192
_LINE_BUFFERED = 1


class SFTPFile:
    """A remote file opened by :meth:`SFTPClient.open`, with paramiko's ``SFTPFile`` behaviour.

    Reads are buffered (``bufsize``) and pipelined when large; ``prefetch()`` reads the whole
    file ahead. Writes are buffered and sent as pipelined WRITEs on flush; with
    ``set_pipelined(True)`` a flush does not wait for the statuses (errors surface at the next
    flush or at close). ``read()`` returns bytes; ``readline()`` and iteration return ``str``
    unless the mode has ``b``, as in paramiko.
    """

    def __init__(self, client: SFTPSession, handle: bytes, path: str, mode: str = "r", bufsize: int = -1) -> None:
        self.sftp = client
        self.handle = handle
        self.name = path
        self.mode = mode
        self._readable = "r" in mode or "+" in mode
        self._writable = "w" in mode or "a" in mode or "x" in mode or "+" in mode
        self._binary = "b" in mode
        self._bufsize = DEFAULT_BUFSIZE if bufsize < 0 else bufsize
        self._pos = 0
        self._rbuf = bytearray()  # bytes of the file from self._pos on, already read
        self._wbuf = bytearray()  # bytes to write at self._wstart
        self._wstart = 0
        self._prefetch: ReadPipeline | None = None
        self._writes: WritePipeline | None = None
        self._pipelined = False
        # Re-entrant: close() flushes, truncate() flushes, and each takes the lock.
        self._lock = threading.RLock()
        self.closed = False

    def __repr__(self) -> str:
        return f"<SFTPFile {self.name!r} mode={self.mode!r}{' closed' if self.closed else ''}>"

    # -- file-object plumbing ------------------------------------------------------------------

    def readable(self) -> bool:
        return self._readable

    def writable(self) -> bool:
        return self._writable

    def seekable(self) -> bool:
        return True

    def settimeout(self, timeout: float | None) -> None:
        self.sftp.sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self.sftp.sock.gettimeout()

    def setblocking(self, blocking: bool) -> None:
        self.sftp.sock.setblocking(blocking)

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on closed file {self.name!r}")

    # -- reading -------------------------------------------------------------------------------

    def _read_sync(self, offset: int, length: int) -> bytes | memoryview:
        """One READ; b"" at EOF."""
        packet = self.sftp._request(p.Read(handle=self.handle, offset=offset, length=length), self.name)
        if packet.ID == T.DATA:
            return packet.data
        if packet.code == Status.EOF:
            return b""
        raise self.sftp._status_error(packet, self.name)

    def _fill(self, wanted: int) -> bool:
        """Add at least one byte to the read buffer (up to about ``wanted``); False at EOF."""
        offset = self._pos + len(self._rbuf)
        if self._prefetch is not None:
            if self._prefetch.position == offset:
                before = len(self._rbuf)
                while len(self._rbuf) < wanted:
                    item = self._prefetch.next_piece()
                    if item is None:
                        self._prefetch = None
                        break
                    self._rbuf += item[1].data()
                return len(self._rbuf) > before
            self._cancel_prefetch()
        if wanted > self.sftp.read_length:
            pipeline = ReadPipeline(self.sftp, self.handle, self.name,
                                    ranges=[(offset, wanted - len(self._rbuf))])  # fmt: skip
            data = b"".join(pipeline.groups())
        else:
            data = self._read_sync(offset, min(self.sftp.read_length, max(wanted - len(self._rbuf),
                                                                          self._bufsize)))  # fmt: skip
        if not data:
            return False
        self._rbuf += data
        return True

    def _before_read(self) -> None:
        self._check_open()
        if not self._readable:
            raise OSError(errno.EBADF, "file not open for reading", self.name)
        if self._wbuf:
            self._flush_locked()

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all the rest if ``size`` is None or negative); fewer only at EOF."""
        with self._lock:
            self._before_read()
            if size is None or size < 0:
                return self._read_all()
            while len(self._rbuf) < size and self._fill(size):
                pass
            return self._consume(min(size, len(self._rbuf)))

    def _read_all(self) -> bytes:
        parts: list[bytes | bytearray | memoryview] = [bytes(self._rbuf)]
        offset = self._pos + len(self._rbuf)
        self._rbuf.clear()
        if self._prefetch is not None and self._prefetch.position == offset:
            pipeline = self._prefetch
        else:
            self._cancel_prefetch()
            size = self.sftp._fstat_size(self.handle, self.name)
            pipeline = ReadPipeline(self.sftp, self.handle, self.name, start=offset, size_hint=size or 0)
        self._prefetch = None
        parts += pipeline.chunks()  # views of the packet buffers: joined with one copy
        data = b"".join(parts)
        self._pos += len(data)
        return data

    def _consume(self, n: int) -> bytes:
        data = bytes(self._rbuf[:n])
        del self._rbuf[:n]
        self._pos += n
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> Any:  # type: ignore[override]
        """One line including its newline (str unless the mode has ``b``, as in paramiko)."""
        with self._lock:
            self._before_read()
            limit = size if size is not None and size >= 0 else None
            start = 0
            while True:
                end = self._rbuf.find(b"\n", start)
                if end >= 0:
                    n = end + 1
                    break
                if limit is not None and len(self._rbuf) >= limit:
                    n = limit
                    break
                start = len(self._rbuf)
                if not self._fill(max(self._bufsize, start + 1)):
                    n = len(self._rbuf)
                    break
            if limit is not None:
                n = min(n, limit)
            line = self._consume(n)
        return line if self._binary else line.decode("utf-8")

    def readlines(self, sizehint: int | None = None) -> list[Any]:  # type: ignore[override]
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if sizehint is not None and 0 < sizehint <= total:
                break
        return lines

    def __iter__(self) -> SFTPFile:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def prefetch(self, file_size: int | None = None, max_concurrent_requests: int | None = None) -> None:
        """Read the rest of the file ahead with many requests in flight; later ``read`` calls
        take from it. A ``seek`` elsewhere drops what was prefetched."""
        with self._lock:
            self._check_open()
            self._cancel_prefetch()
            if file_size is None:
                file_size = self.sftp._fstat_size(self.handle, self.name) or 0
            start = self._pos + len(self._rbuf)
            self._prefetch = ReadPipeline(self.sftp, self.handle, self.name, start=start, size_hint=file_size,
                                          max_requests=max_concurrent_requests)  # fmt: skip
            self._prefetch._top_up()

    def readv(self, chunks: Iterable[tuple[int, int]], max_concurrent_prefetch_requests: int | None = None
              ) -> Iterator[bytes]:  # fmt: skip
        """The data of each (offset, length) chunk, in the order given, read with pipelined
        requests; a chunk past the end of the file comes back shorter (or empty)."""
        with self._lock:
            self._check_open()
            if self._wbuf:
                self._flush_locked()
        pipeline = ReadPipeline(self.sftp, self.handle, self.name, ranges=list(chunks),
                                max_requests=max_concurrent_prefetch_requests)  # fmt: skip
        return pipeline.groups()

    def _cancel_prefetch(self) -> None:
        if self._prefetch is not None:
            self._prefetch.cancel()
            self._prefetch = None

    # -- writing -------------------------------------------------------------------------------

    def write(self, data: Any) -> int:
        """Buffer ``data`` (str is UTF-8 encoded); whole buffers go out as pipelined WRITEs."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self._lock:
            self._check_open()
            if not self._writable:
                raise OSError(errno.EBADF, "file not open for writing", self.name)
            if self._rbuf or self._prefetch is not None:
                self._rbuf.clear()
                self._cancel_prefetch()
            if not self._wbuf:
                self._wstart = self._pos
            self._wbuf += data
            self._pos += len(data)
            if self._bufsize == _LINE_BUFFERED:
                if b"\n" in data:
                    self._flush_locked(wait=False)
            elif len(self._wbuf) >= max(self._bufsize, 1):
                self._flush_locked(wait=False)
            return len(data)

    def writelines(self, lines: Iterable[Any]) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def _write_pipeline(self) -> WritePipeline:
        if self._writes is None:
            self._writes = WritePipeline(self.sftp, self.handle, self.name)
        return self._writes

    def _flush_locked(self, wait: bool = True) -> None:
        if self._wbuf:
            data, self._wbuf = self._wbuf, bytearray()
            self._write_pipeline().send(self._wstart, data)
        if self._writes is not None and (wait and not self._pipelined):
            self._writes.drain()

    def flush(self) -> None:
        """Send buffered writes; wait for their statuses unless the file is pipelined."""
        with self._lock:
            if not self.closed:
                self._flush_locked()

    def set_pipelined(self, pipelined: bool = True) -> None:
        """With ``True``, flushes do not wait for WRITE statuses (paramiko's meaning); the first
        error is raised by a later write, flush or close."""
        self._pipelined = pipelined

    # -- position ------------------------------------------------------------------------------

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._lock:
            self._check_open()
            if self._wbuf:
                self._flush_locked(wait=False)
            if whence == io.SEEK_SET:
                target = offset
            elif whence == io.SEEK_CUR:
                target = self._pos + offset
            elif whence == io.SEEK_END:
                target = (self.sftp._fstat_size(self.handle, self.name) or 0) + offset
            else:
                raise ValueError(f"invalid whence {whence}")
            if target < 0:
                raise OSError(errno.EINVAL, "negative seek position", self.name)
            if target != self._pos:
                self._rbuf.clear()
                self._cancel_prefetch()
                self._pos = target
            return self._pos

    # -- attributes ----------------------------------------------------------------------------

    def stat(self) -> SFTPAttributes:
        """FSTAT of the open handle."""
        packet = self.sftp._request(p.Fstat(handle=self.handle), self.name)
        return self.sftp._attrs(packet, self.name)

    def _setstat(self, attrs: SFTPAttributes) -> None:
        self.sftp._status(self.sftp._request(p.Fsetstat(handle=self.handle, attrs=attrs), self.name), self.name)

    def chmod(self, mode: int) -> None:
        self._setstat(SFTPAttributes(st_mode=mode))

    def chown(self, uid: int, gid: int) -> None:
        self._setstat(SFTPAttributes(st_uid=uid, st_gid=gid))

    def utime(self, times: tuple[float, float] | None) -> None:
        atime, mtime = self.sftp._times(times)
        self._setstat(SFTPAttributes(st_atime=atime, st_mtime=mtime))

    def truncate(self, size: int | None = None) -> int:
        self.flush()
        size = self._pos if size is None else size
        self._setstat(SFTPAttributes(st_size=size))
        return size

    def fsync(self) -> None:
        """Flush, then fsync@openssh.com (the server's fsync(2) of the file)."""
        self.flush()
        self.sftp._require(EXT_FSYNC)
        self.sftp._status(self.sftp._request(p.Fsync(handle=self.handle), self.name), self.name)

    def statvfs(self) -> SFTPVFSAttributes:
        """fstatvfs@openssh.com of the open handle."""
        self.sftp._require(EXT_FSTATVFS)
        return self.sftp._vfs(self.sftp._request(p.Fstatvfs(handle=self.handle), self.name), self.name)

    def check(self, *args: Any, **kwargs: Any) -> bytes:
        raise OSError(errno.EOPNOTSUPP, "check-file is not an OpenSSH extension; not supported", self.name)

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Flush, wait for every WRITE status, then CLOSE; the first error is raised."""
        if self.closed:
            return
        with self._lock:
            try:
                if self._wbuf or self._writes is not None:
                    self._flush_locked(wait=False)
                    if self._writes is not None:
                        self._writes.drain()
            finally:
                self._cancel_prefetch()
                self.closed = True
                if not self.sftp.sock.closed:
                    self.sftp._status(self.sftp._request(p.Close(handle=self.handle), self.name), self.name)

    def _abort(self) -> None:
        """Close after a failure: let outstanding requests finish and CLOSE, raising nothing (the
        caller is already propagating the error that matters)."""
        try:
            self.close()
        except (OSError, SSHException) as exc:
            log.debug("closing %s after an error: %s", self.name, exc)

    def __enter__(self) -> SFTPFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_directory(attrs: SFTPAttributes) -> bool:
    return attrs.st_mode is not None and stat_module.S_ISDIR(attrs.st_mode)


def local_size(fl: Any) -> int:
    """Size of a local file object if it has a descriptor, else 0 (progress only)."""
    try:
        return os.fstat(fl.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return 0
