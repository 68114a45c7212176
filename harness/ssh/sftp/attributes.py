"""File attributes (draft-02 section 5): the ATTRS structure and its strict codec.

Why one class for the wire and the API: :class:`SFTPAttributes` is what paramiko users know
(``st_size``, ``st_mode``, ``filename``, ``longname``, ``attr``), and it is also exactly what an
ATTRS structure carries, so the codec reads and writes it directly and nothing is converted twice.
A field that is ``None`` is absent on the wire; the flags word is derived, never stored, so it
cannot disagree with the fields.
"""

from __future__ import annotations

import stat as stat_module
from collections.abc import Callable
from datetime import datetime
from typing import Any

from harness.ssh.errors import DecodeError
from harness.ssh.sftp.constants import KNOWN_ATTR_FLAGS, AttrFlag
from harness.ssh.wire.codec import Reader, Writer
from harness.ssh.wire.fields import Kind

# The ATTRS flag bits as plain ints: ``int & IntFlag`` dispatches to IntFlag's Python-level
# __rand__, several times per ATTRS, on every listing entry and every stat reply.
_SIZE, _UIDGID, _PERMISSIONS = int(AttrFlag.SIZE), int(AttrFlag.UIDGID), int(AttrFlag.PERMISSIONS)
_ACMODTIME, _EXTENDED = int(AttrFlag.ACMODTIME), int(AttrFlag.EXTENDED)
_U32_MAX = 0xFFFFFFFF
_U64_MAX = 0xFFFFFFFFFFFFFFFF
# ls -l shows the year instead of the time for files older than about six months (as ls does).
_SIX_MONTHS = 15_552_000
# The wall clock that "recent" is measured against. The core reads no clock (DESIGN.md), so the
# facade (harness.sftp_client) installs ``time.time`` here; without one, every date shows its year.
wall_clock: Callable[[], float] | None = None


class SFTPAttributes:
    """Attributes of a remote file, shaped like ``os.stat_result`` (paramiko's class of that name).

    ``attr`` holds the EXTENDED pairs (type -> data, both bytes). ``filename`` and ``longname``
    are set on entries of a directory listing (``longname`` is the server's ``ls -l`` line).
    """

    def __init__(self, *, st_size: int | None = None, st_uid: int | None = None, st_gid: int | None = None,
                 st_mode: int | None = None, st_atime: int | None = None, st_mtime: int | None = None,
                 attr: dict[bytes, bytes] | None = None) -> None:  # fmt: skip
        self.st_size = st_size
        self.st_uid = st_uid
        self.st_gid = st_gid
        self.st_mode = st_mode
        self.st_atime = st_atime
        self.st_mtime = st_mtime
        self.attr: dict[bytes, bytes] = dict(attr or {})
        self.filename: str = "?"
        self.longname: str = ""

    @classmethod
    def from_stat(cls, obj: Any, filename: str | None = None) -> SFTPAttributes:
        """From an ``os.stat`` result (what ``put`` sends to mirror a local file's mode)."""
        attrs = cls(st_size=obj.st_size, st_uid=obj.st_uid, st_gid=obj.st_gid, st_mode=obj.st_mode,
                    st_atime=int(obj.st_atime), st_mtime=int(obj.st_mtime))  # fmt: skip
        if filename is not None:
            attrs.filename = filename
        return attrs

    # -- wire ------------------------------------------------------------------------------

    @property
    def flags(self) -> int:
        """The ATTRS flags word these fields encode to."""
        flags = 0
        if self.st_size is not None:
            flags |= _SIZE
        if self.st_uid is not None or self.st_gid is not None:
            flags |= _UIDGID
        if self.st_mode is not None:
            flags |= _PERMISSIONS
        if self.st_atime is not None or self.st_mtime is not None:
            flags |= _ACMODTIME
        if self.attr:
            flags |= _EXTENDED
        return int(flags)

    def write(self, w: Writer) -> None:
        """Encode; a half-set pair (uid without gid, atime without mtime) is a caller error."""
        flags = self.flags
        w.uint32(flags)
        if flags & _SIZE:
            w.uint64(_check(self.st_size, _U64_MAX, "st_size"))
        if flags & _UIDGID:
            if self.st_uid is None or self.st_gid is None:
                raise ValueError("st_uid and st_gid must be set together (one UIDGID field on the wire)")
            w.uint32(_check(self.st_uid, _U32_MAX, "st_uid")).uint32(_check(self.st_gid, _U32_MAX, "st_gid"))
        if flags & _PERMISSIONS:
            w.uint32(_check(self.st_mode, _U32_MAX, "st_mode"))
        if flags & _ACMODTIME:
            if self.st_atime is None or self.st_mtime is None:
                raise ValueError("st_atime and st_mtime must be set together (one ACMODTIME field on the wire)")
            w.uint32(_check(int(self.st_atime), _U32_MAX, "st_atime"))
            w.uint32(_check(int(self.st_mtime), _U32_MAX, "st_mtime"))
        if flags & _EXTENDED:
            w.uint32(len(self.attr))
            for key, value in self.attr.items():
                w.string(key).string(value)

    def encode(self) -> bytes:
        w = Writer()
        self.write(w)
        return w.getvalue()

    @classmethod
    def read(cls, r: Reader) -> SFTPAttributes:
        """Decode; unknown flag bits, short fields and duplicate extended types raise DecodeError."""
        flags = r.uint32()
        unknown = flags & ~KNOWN_ATTR_FLAGS
        if unknown:
            raise DecodeError(f"ATTRS flags 0x{flags:08x} have bits 0x{unknown:08x} that version 3 does not define")
        attrs = cls()
        if flags & _SIZE:
            attrs.st_size = r.uint64()
        if flags & _UIDGID:
            attrs.st_uid = r.uint32()
            attrs.st_gid = r.uint32()
        if flags & _PERMISSIONS:
            attrs.st_mode = r.uint32()
        if flags & _ACMODTIME:
            attrs.st_atime = r.uint32()
            attrs.st_mtime = r.uint32()
        if flags & _EXTENDED:
            count = r.uint32()
            if count * 8 > r.remaining():  # each pair is at least two empty strings
                raise DecodeError(f"ATTRS extended count {count} exceeds what {r.remaining()} bytes hold")
            if count == 0:
                # The flag promises at least one pair; an empty set could not round-trip.
                raise DecodeError("ATTRS has the EXTENDED flag with a count of 0")
            for _ in range(count):
                key = r.string()
                if key in attrs.attr:
                    raise DecodeError(f"ATTRS extended type {key[:40]!r} appears twice")
                attrs.attr[key] = r.string()
        return attrs

    @classmethod
    def decode(cls, data: bytes) -> SFTPAttributes:
        r = Reader(data)
        attrs = cls.read(r)
        r.check_end()
        return attrs

    # -- comparison and display ------------------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return (self.st_size, self.st_uid, self.st_gid, self.st_mode, self.st_atime, self.st_mtime, self.attr)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SFTPAttributes) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        parts = []
        if self.st_size is not None:
            parts.append(f"size={self.st_size}")
        if self.st_uid is not None or self.st_gid is not None:
            parts.append(f"uid={self.st_uid} gid={self.st_gid}")
        if self.st_mode is not None:
            parts.append(f"mode={self.st_mode:#o}")
        if self.st_atime is not None or self.st_mtime is not None:
            parts.append(f"atime={self.st_atime} mtime={self.st_mtime}")
        parts += [f"{k!r}={v!r}" for k, v in self.attr.items()]
        name = f" {self.filename!r}" if self.filename != "?" else ""
        return f"<SFTPAttributes{name}: [{' '.join(parts)}]>"

    def __str__(self) -> str:
        """A ``ls -l`` style line (paramiko's format), recent files judged by :data:`wall_clock`."""
        return self.ls_line(wall_clock() if wall_clock is not None else None)

    def ls_line(self, now: float | None) -> str:
        """The ``ls -l`` line as seen at time ``now``: the time of day for files within six months
        of it, the year otherwise (and always the year when ``now`` is None). Local time zone."""
        mode = self.st_mode
        if mode is not None:
            kind = _KIND_CHARS.get(stat_module.S_IFMT(mode), "?")
            perms = (_rwx((mode >> 6) & 7, mode & stat_module.S_ISUID)
                     + _rwx((mode >> 3) & 7, mode & stat_module.S_ISGID)
                     + _rwx(mode & 7, mode & stat_module.S_ISVTX, sticky=True))  # fmt: skip
            ks = kind + perms
        else:
            ks = "?---------"
        if self.st_mtime is None or self.st_mtime == _U32_MAX:
            date = "(unknown date)"
        else:
            recent = now is not None and abs(now - self.st_mtime) <= _SIX_MONTHS
            date = datetime.fromtimestamp(self.st_mtime).strftime("%d %b %H:%M" if recent else "%d %b %Y")
        return (f"{ks}   1 {self.st_uid or 0:<8d} {self.st_gid or 0:<8d} {self.st_size or 0:8d} "
                f"{date:<12} {self.filename}")  # fmt: skip

    def asbytes(self) -> bytes:
        return str(self).encode()


_KIND_CHARS = {
    stat_module.S_IFIFO: "p",
    stat_module.S_IFCHR: "c",
    stat_module.S_IFDIR: "d",
    stat_module.S_IFBLK: "b",
    stat_module.S_IFREG: "-",
    stat_module.S_IFLNK: "l",
    stat_module.S_IFSOCK: "s",
}


def _rwx(bits: int, special: int, sticky: bool = False) -> str:
    out = "-r"[bits >> 2] + "-w"[(bits >> 1) & 1]
    index = (2 if special else 0) + (bits & 1)
    return out + ("-xTt" if sticky else "-xSs")[index]


def _check(value: int | None, limit: int, name: str) -> int:
    if value is None or not 0 <= int(value) <= limit:
        raise ValueError(f"{name}={value!r} does not fit its wire field (0..{limit})")
    return int(value)


class _Attrs(Kind):
    """The ATTRS structure as a field kind for the packet tables."""

    @property
    def default(self) -> SFTPAttributes:  # type: ignore[override]
        return SFTPAttributes()

    plain_read = staticmethod(SFTPAttributes.read)  # needs nothing but the reader: the fast decode path

    def write(self, w: Writer, value: SFTPAttributes, values: dict[str, Any]) -> None:
        value.write(w)


ATTRS = _Attrs()
