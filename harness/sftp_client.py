"""Paramiko-style blocking SFTP client over an SSH channel (the "sftp" subsystem).

:class:`SFTPClient` is paramiko's API (listdir, stat, open, get/put, rename, ...) plus the
OpenSSH extensions, on top of the request engine and pipelines of :mod:`harness.sftp_session`.
Extensions are used only when the server's VERSION announced them; otherwise the call raises
an ``OSError`` with ``EOPNOTSUPP`` and nothing is sent. Failed requests raise ``OSError``
subclasses with the errno of the status code and the path in the message
(:mod:`harness.ssh.sftp.errors`).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from harness.sftp_file import SFTPFile, is_directory, local_size
from harness.sftp_session import (
    PIPELINE_BYTES,
    ReadPipeline,
    SFTPLimits,
    SFTPSession,
    SFTPVFSAttributes,
    WritePipeline,
)
from harness.ssh.errors import SSHException
from harness.ssh.sftp import attributes as _attributes
from harness.ssh.sftp import constants as c
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.attributes import SFTPAttributes
from harness.ssh.sftp.constants import OpenFlag, Status
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.sftp.errors import SFTPError
from harness.ssh.sftp.protocol import Response
from harness.ssh.wire.message import Message

# The facade owns the clock: str(SFTPAttributes) shows the time of day for recent files, as ls does.
_attributes.wall_clock = time.time

if TYPE_CHECKING:
    from harness.channel import Channel
    from harness.transport import Transport

log = logging.getLogger("harness.sftp")

# READDIR requests in flight while listing (each answers with up to ~100 names on OpenSSH).
LISTDIR_READ_AHEAD = 16
# Channel window for the SFTP session: twice the bytes a pipeline keeps in flight, so the server
# never waits for a WINDOW_ADJUST while our reader drains replies (the core re-grants at half).
SFTP_WINDOW = 2 * PIPELINE_BYTES
# How long close() waits for the server to confirm the channel close (one round trip normally).
CLOSE_WAIT_SECONDS = 5.0


def _encode(path: str | bytes) -> bytes:
    return path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class SFTPClient(SFTPSession):
    """An SFTP v3 session: paramiko's ``SFTPClient`` API plus OpenSSH's extensions.

    ``sock`` is the channel with the "sftp" subsystem already started (paramiko's name).
    """

    @classmethod
    def from_transport(cls, t: Transport, window_size: int | None = None,
                       max_packet_size: int | None = None) -> SFTPClient:  # fmt: skip
        """Open a session channel on ``t``, start the "sftp" subsystem, run the handshake."""
        # The maximum packet stays the transport's (32 KiB): sshd reads its sftp-server in 32 KiB
        # pieces anyway, and measured larger values gained nothing.
        chan = t.open_session(window_size=window_size or SFTP_WINDOW, max_packet_size=max_packet_size)
        try:
            chan.invoke_subsystem("sftp")
            return cls(chan)
        except BaseException:
            chan.close()
            raise

    def _adjust_cwd(self, path: str | bytes) -> str:
        text = _decode(path) if isinstance(path, bytes) else path
        if self._cwd is None or text.startswith("/"):
            return text
        if self._cwd == "/":
            return "/" + text
        return f"{self._cwd}/{text}"

    # == session ===========================================================================

    def get_channel(self) -> Channel:
        return self.sock

    @property
    def server_version(self) -> int | None:
        return self._proto.version

    def supports(self, extension: str) -> bool:
        """Whether the server announced ``extension`` (e.g. ``"statvfs@openssh.com"``)."""
        return self._proto.supports(extension)

    def close(self) -> None:
        """Close the SFTP channel (open files are gone with it) and wait, briefly, for the
        server's CHANNEL_CLOSE: Dropbear 2022.83 closes a session channel opened while it is
        still reaping the previous session's sftp-server, so "closed" must mean closed."""
        if self._closed:
            return
        self._closed = True
        chan = self.sock
        chan.close()
        transport = getattr(chan, "transport", None)
        if transport is not None and transport.is_active():
            try:
                transport._wait(lambda: chan.closed, CLOSE_WAIT_SECONDS, "the server's CHANNEL_CLOSE")
            except (TimeoutError, SSHException) as exc:
                log.debug("SFTP channel close not confirmed: %s", exc)

    def __enter__(self) -> SFTPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # == directories =======================================================================

    def listdir(self, path: str = ".") -> list[str]:
        """Names in ``path`` (without "." and ".."), in the server's order."""
        return [a.filename for a in self.listdir_attr(path)]

    def listdir_attr(self, path: str = ".") -> list[SFTPAttributes]:
        """Entries of ``path`` with their attributes (``filename``, ``longname`` set)."""
        return list(self.listdir_iter(path, LISTDIR_READ_AHEAD))

    def listdir_iter(self, path: str = ".", read_aheads: int = 50) -> Iterator[SFTPAttributes]:
        """Yield entries as they arrive, with ``read_aheads`` READDIRs in flight.

        A directory that disappears while it is listed makes OpenSSH's server report a plain
        EOF (readdir(3) fails with ENOENT, which it does not pass on, and lstat of the entries
        still buffered fails, so it skips them). So at the end of a listing a STAT of the
        directory goes out together with the CLOSE (no extra round trip), and if the directory
        is gone, FileNotFoundError is raised rather than a silently partial list returned.
        """
        path = self._adjust_cwd(path)
        packet = self._request(p.Opendir(path=_encode(path)), path)
        if packet.ID != T.HANDLE:
            error = self._status_error(packet, path)
            raise self._not_a_directory(path) if isinstance(error, FileNotFoundError) else error
        handle = packet.handle
        arrived: dict[int, Message] = {}
        order: list[int] = []
        complete = False

        def on_reply(response: Response) -> None:
            arrived[response.request_id] = response.packet

        try:
            while True:
                while len(order) < max(1, read_aheads):
                    order.append(self._send(p.Readdir(handle=handle), on_reply))
                rid = order.pop(0)
                self._wait_for(lambda rid=rid: rid in arrived, f"READDIR of {path}")  # type: ignore[misc]
                reply = arrived.pop(rid)
                if reply.ID == T.STATUS:
                    if reply.code != Status.EOF:
                        raise self._status_error(reply, path)
                    complete = True
                    break
                for filename, longname, attrs in reply.entries:
                    name = _decode(filename)
                    if name in (".", ".."):
                        continue
                    attrs.filename = name
                    attrs.longname = _decode(longname)
                    yield attrs
        finally:
            self._abandon(order)
            if not self._closed and self._broken is None:
                requests = [p.Close(handle=handle)] + ([p.Stat(path=_encode(path))] if complete else [])
                closed, *still_there = self._request_many(requests)
                if complete:
                    self._status(closed, path)
                    gone = still_there[0]
                    if gone.ID == T.STATUS and gone.code == Status.NO_SUCH_FILE:
                        raise FileNotFoundError(errno.ENOENT, "directory was removed while it was listed", path)

    def _not_a_directory(self, path: str) -> BaseException:
        """OpenSSH reports ENOTDIR as NO_SUCH_FILE; say "not a directory" when that is the cause."""
        try:
            attrs = self.stat(path)
        except OSError as exc:
            return exc
        if not is_directory(attrs):
            return NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        return FileNotFoundError(errno.ENOENT, "No such file", path)

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        path = self._adjust_cwd(path)
        self._status(self._request(p.Mkdir(path=_encode(path), attrs=SFTPAttributes(st_mode=mode)), path), path)

    def rmdir(self, path: str) -> None:
        path = self._adjust_cwd(path)
        self._status(self._request(p.Rmdir(path=_encode(path)), path), path)

    def chdir(self, path: str | None = None) -> None:
        """Set the directory relative paths start from (client side, like paramiko); None resets."""
        if path is None:
            self._cwd = None
            return
        if not is_directory(self.stat(path)):
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        self._cwd = self.normalize(path)

    def getcwd(self) -> str | None:
        return self._cwd

    # == names and attributes ==============================================================

    def stat(self, path: str) -> SFTPAttributes:
        path = self._adjust_cwd(path)
        return self._attrs(self._request(p.Stat(path=_encode(path)), path), path)

    def lstat(self, path: str) -> SFTPAttributes:
        path = self._adjust_cwd(path)
        return self._attrs(self._request(p.Lstat(path=_encode(path)), path), path)

    def setstat(self, path: str, attrs: SFTPAttributes) -> None:
        path = self._adjust_cwd(path)
        self._status(self._request(p.Setstat(path=_encode(path), attrs=attrs), path), path)

    def lsetstat(self, path: str, attrs: SFTPAttributes) -> None:
        """SETSTAT that does not follow a final symlink (lsetstat@openssh.com)."""
        self._require(c.EXT_LSETSTAT)
        path = self._adjust_cwd(path)
        self._status(self._request(p.Lsetstat(path=_encode(path), attrs=attrs), path), path)

    def chmod(self, path: str, mode: int) -> None:
        self.setstat(path, SFTPAttributes(st_mode=mode))

    def chown(self, path: str, uid: int, gid: int) -> None:
        self.setstat(path, SFTPAttributes(st_uid=uid, st_gid=gid))

    def utime(self, path: str, times: tuple[float, float] | None) -> None:
        """Set (atime, mtime); None means now."""
        atime, mtime = self._times(times)
        self.setstat(path, SFTPAttributes(st_atime=atime, st_mtime=mtime))

    def truncate(self, path: str, size: int) -> None:
        self.setstat(path, SFTPAttributes(st_size=size))

    def _one_name(self, packet: Message, path: str) -> str:
        return _decode(self._expect(packet, T.NAME, path).entries[0][0])

    def normalize(self, path: str) -> str:
        """The server's canonical absolute form of ``path`` (REALPATH)."""
        path = self._adjust_cwd(path)
        return self._one_name(self._request(p.Realpath(path=_encode(path)), path), path)

    def expand_path(self, path: str) -> str:
        """Like normalize, but also expands "~" and "~user" (expand-path@openssh.com)."""
        self._require(c.EXT_EXPAND_PATH)
        if not path.startswith("~"):
            path = self._adjust_cwd(path)
        return self._one_name(self._request(p.ExpandPath(path=_encode(path)), path), path)

    def readlink(self, path: str) -> str:
        path = self._adjust_cwd(path)
        return self._one_name(self._request(p.Readlink(path=_encode(path)), path), path)

    def symlink(self, source: str, dest: str) -> None:
        """Create symlink ``dest`` pointing to ``source`` (stored as given, not made absolute)."""
        dest = self._adjust_cwd(dest)
        target, link = _encode(source), _encode(dest)
        first, second = (target, link) if self._symlink_reversed else (link, target)
        self._status(self._request(p.Symlink(first_path=first, second_path=second), dest), dest)

    def remove(self, path: str) -> None:
        path = self._adjust_cwd(path)
        self._status(self._request(p.Remove(filename=_encode(path)), path), path)

    unlink = remove

    def rename(self, oldpath: str, newpath: str) -> None:
        """RENAME (OpenSSH refuses it when ``newpath`` exists; see :meth:`posix_rename`)."""
        old, new = self._adjust_cwd(oldpath), self._adjust_cwd(newpath)
        self._status(self._request(p.Rename(oldpath=_encode(old), newpath=_encode(new)), old), old, new)

    def posix_rename(self, oldpath: str, newpath: str) -> None:
        """rename(2) semantics, replacing ``newpath`` (posix-rename@openssh.com)."""
        self._require(c.EXT_POSIX_RENAME)
        old, new = self._adjust_cwd(oldpath), self._adjust_cwd(newpath)
        self._status(self._request(p.PosixRename(oldpath=_encode(old), newpath=_encode(new)), old), old, new)

    def hardlink(self, oldpath: str, newpath: str) -> None:
        """Hard link ``newpath`` to ``oldpath`` (hardlink@openssh.com)."""
        self._require(c.EXT_HARDLINK)
        old, new = self._adjust_cwd(oldpath), self._adjust_cwd(newpath)
        self._status(self._request(p.Hardlink(oldpath=_encode(old), newpath=_encode(new)), old), old, new)

    def statvfs(self, path: str) -> SFTPVFSAttributes:
        """File system statistics of ``path`` (statvfs@openssh.com)."""
        self._require(c.EXT_STATVFS)
        path = self._adjust_cwd(path)
        return self._vfs(self._request(p.Statvfs(path=_encode(path)), path), path)

    # == files =============================================================================

    def open(self, filename: str, mode: str = "r", bufsize: int = -1) -> SFTPFile:
        """Open a remote file; ``mode`` as in paramiko ("r", "w", "a", "x", with "+" and "b")."""
        path = self._adjust_cwd(filename)
        flags = 0
        if "r" in mode or "+" in mode:
            flags |= OpenFlag.READ
        if "w" in mode or "+" in mode or "a" in mode or "x" in mode:
            flags |= OpenFlag.WRITE
        if "w" in mode:
            flags |= OpenFlag.CREAT | OpenFlag.TRUNC
        if "a" in mode:
            flags |= OpenFlag.CREAT | OpenFlag.APPEND
        if "x" in mode:
            flags |= OpenFlag.CREAT | OpenFlag.EXCL
        packet = self._request(p.Open(filename=_encode(path), pflags=int(flags), attrs=SFTPAttributes()), path)
        handle = self._expect(packet, T.HANDLE, path).handle
        fobj = SFTPFile(self, handle, path, mode, bufsize)
        if "a" in mode:
            fobj._pos = self._fstat_size(handle, path) or 0
        return fobj

    file = open

    def putfo(self, fl: IO[bytes], remotepath: str, file_size: int = 0,
              callback: Callable[[int, int], Any] | None = None, confirm: bool = True) -> SFTPAttributes:  # fmt: skip
        """Upload the file object ``fl`` with pipelined WRITEs; with ``confirm`` the remote size
        must equal what was sent. Returns the remote attributes."""
        total = file_size or local_size(fl)
        with _transfer(self.open(remotepath, "wb")) as fr:
            writes = WritePipeline(self, fr.handle, fr.name)
            fr._writes = writes
            hlen, block = writes.header_length, writes.block
            buf = bytearray(hlen + block)
            view = memoryview(buf)[hlen:]
            readinto = getattr(fl, "readinto", None)
            sent = 0
            while True:
                if readinto is not None:
                    n = readinto(view)
                else:
                    chunk = fl.read(block)
                    n = len(chunk)
                    view[:n] = chunk
                if not n:
                    break
                writes.send_buffer(sent, buf, n)
                sent += n
                if callback is not None:
                    callback(sent, total)
            writes.drain()
        if not confirm:
            return SFTPAttributes(st_size=sent)
        attrs = self.stat(remotepath)
        if attrs.st_size != sent:
            raise OSError(errno.EIO, f"size mismatch in put! {attrs.st_size} != {sent}", remotepath)
        return attrs

    def put(self, localpath: str | os.PathLike[str], remotepath: str,
            callback: Callable[[int, int], Any] | None = None, confirm: bool = True) -> SFTPAttributes:  # fmt: skip
        with open(localpath, "rb", buffering=0) as fl:
            return self.putfo(fl, remotepath, os.fstat(fl.fileno()).st_size, callback, confirm)

    def getfo(self, remotepath: str, fl: IO[bytes], callback: Callable[[int, int], Any] | None = None,
              prefetch: bool = True, max_concurrent_prefetch_requests: int | None = None) -> int:  # fmt: skip
        """Download into the file object ``fl`` with pipelined READs; returns the byte count.

        The transfer runs to the server's EOF; ending at a size other than the one FSTAT gave
        before it started raises, so a file cut short is never taken for complete.
        """
        with _transfer(self.open(remotepath, "rb")) as fr:
            size = self._fstat_size(fr.handle, fr.name) or 0
            requests = max_concurrent_prefetch_requests if prefetch else 1
            pipeline = ReadPipeline(self, fr.handle, fr.name, size_hint=size, max_requests=requests)
            received = 0
            for chunk in pipeline.chunks():
                _write_all(fl, chunk)
                received += len(chunk)
                if callback is not None:
                    callback(received, size)
        if received != size:
            raise OSError(errno.EIO, f"size mismatch in get! {received} != {size}", remotepath)
        return received

    def get(self, remotepath: str, localpath: str | os.PathLike[str],
            callback: Callable[[int, int], Any] | None = None, prefetch: bool = True,
            max_concurrent_prefetch_requests: int | None = None) -> None:  # fmt: skip
        with open(localpath, "wb", buffering=0) as fl:
            self.getfo(remotepath, fl, callback, prefetch, max_concurrent_prefetch_requests)


@contextmanager
def _transfer(fr: SFTPFile) -> Iterator[SFTPFile]:
    """Close ``fr`` after a transfer; after a failure, close it without letting a second error
    (a WRITE status still in flight, a CLOSE on a broken session) hide the first."""
    try:
        yield fr
    except BaseException:
        fr._abort()
        raise
    fr.close()


def _write_all(fl: IO[bytes], data: memoryview | bytes) -> None:
    """Write all of ``data``: a raw (unbuffered) file may take only part of it per call."""
    n = fl.write(data)
    while n is not None and n < len(data):
        data = memoryview(data)[n:]
        n = fl.write(data)


SFTP = SFTPClient  # paramiko's alias

__all__ = ["SFTP", "SFTPAttributes", "SFTPClient", "SFTPError", "SFTPFile", "SFTPLimits", "SFTPVFSAttributes"]
