"""Every packet of SFTP version 3 (draft-ietf-secsh-filexfer-02) and the OpenSSH extensions.

Why the SSH message machinery: an SFTP packet body is "type byte, then fields" exactly like an
SSH payload, so each packet is one table row of ``(field name, kind)`` on the same
:class:`~harness.ssh.wire.message.Message` base. One table gives encode, decode, repr, equality
and the fuzzer's knowledge of every packet, and the strict codec comes with it (short fields and
trailing bytes raise :class:`DecodeError`).

Paths, file names, long names and handles are ``bytes``: version 3 does not say which encoding
file names use (OpenSSH passes them through raw), so the codec must not refuse a name that is
not UTF-8; the client decides how to show them. Status messages are UTF-8 text (draft-02 7).

EXTENDED (200) has a typed layout per request name, like CHANNEL_REQUEST. EXTENDED_REPLY (201)
has no name inside it: its layout depends on the request it answers, so it is decoded in that
context (:data:`EXTENDED_REPLY_TABLE`), the way SSH numbers 30-49 are decoded per kex method.
"""

from __future__ import annotations

import struct
from typing import Any

from harness.ssh.errors import DecodeError
from harness.ssh.sftp import constants as c
from harness.ssh.sftp.attributes import ATTRS
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.wire.codec import Reader, Writer
from harness.ssh.wire.fields import DISCRIMINATOR, REST, STRING, TEXT, U32, U64, Counted, Kind
from harness.ssh.wire.message import Message, define, subtype

_U32 = struct.Struct(">I")


class _ExtensionPairs(Kind):
    """``extension-pair*`` of INIT and VERSION: (name, data) strings up to the end of the packet.

    Kept as an ordered tuple (not a dict) so a server that announces a name twice is visible.
    """

    default = ()

    def read(self, r: Reader, values: dict[str, Any]) -> tuple[tuple[str, bytes], ...]:
        pairs = []
        while r.remaining():
            if len(pairs) >= c.MAX_EXTENSIONS:
                raise DecodeError(f"more than {c.MAX_EXTENSIONS} extension pairs")
            pairs.append((r.utf8(), r.string()))
        return tuple(pairs)

    def write(self, w: Writer, value: tuple[tuple[str, bytes], ...], values: dict[str, Any]) -> None:
        for name, data in value:
            w.text(name).string(data)


EXTENSION_PAIRS = _ExtensionPairs()
ID = ("request_id", U32)

# --- session start (draft-02 section 4) -------------------------------------------------------

Init = define(T.INIT, "FXP_INIT", (("version", U32), ("extensions", EXTENSION_PAIRS)))
Version = define(T.VERSION, "FXP_VERSION", (("version", U32), ("extensions", EXTENSION_PAIRS)))

# --- requests (sections 6.3 - 6.10) -----------------------------------------------------------

Open = define(T.OPEN, "FXP_OPEN", (ID, ("filename", STRING), ("pflags", U32), ("attrs", ATTRS)))
Close = define(T.CLOSE, "FXP_CLOSE", (ID, ("handle", STRING)))
Read = define(T.READ, "FXP_READ", (ID, ("handle", STRING), ("offset", U64), ("length", U32)))
Write = define(T.WRITE, "FXP_WRITE", (ID, ("handle", STRING), ("offset", U64), ("data", STRING)))
Lstat = define(T.LSTAT, "FXP_LSTAT", (ID, ("path", STRING)))
Fstat = define(T.FSTAT, "FXP_FSTAT", (ID, ("handle", STRING)))
Setstat = define(T.SETSTAT, "FXP_SETSTAT", (ID, ("path", STRING), ("attrs", ATTRS)))
Fsetstat = define(T.FSETSTAT, "FXP_FSETSTAT", (ID, ("handle", STRING), ("attrs", ATTRS)))
Opendir = define(T.OPENDIR, "FXP_OPENDIR", (ID, ("path", STRING)))
Readdir = define(T.READDIR, "FXP_READDIR", (ID, ("handle", STRING)))
Remove = define(T.REMOVE, "FXP_REMOVE", (ID, ("filename", STRING)))
Mkdir = define(T.MKDIR, "FXP_MKDIR", (ID, ("path", STRING), ("attrs", ATTRS)))
Rmdir = define(T.RMDIR, "FXP_RMDIR", (ID, ("path", STRING)))
Realpath = define(T.REALPATH, "FXP_REALPATH", (ID, ("path", STRING)))
Stat = define(T.STAT, "FXP_STAT", (ID, ("path", STRING)))
Rename = define(T.RENAME, "FXP_RENAME", (ID, ("oldpath", STRING), ("newpath", STRING)))
Readlink = define(T.READLINK, "FXP_READLINK", (ID, ("path", STRING)))
# draft-02 orders the fields (linkpath, targetpath); OpenSSH's server reads them the other way
# round (PROTOCOL section 4.1, kept for compatibility). The table uses neutral names; the client
# puts target and link in the order the server expects.
Symlink = define(T.SYMLINK, "FXP_SYMLINK", (ID, ("first_path", STRING), ("second_path", STRING)))

# --- responses (section 7) --------------------------------------------------------------------

StatusPacket = define(T.STATUS, "FXP_STATUS", (ID, ("code", U32), ("message", TEXT), ("language", TEXT)))
Handle = define(T.HANDLE, "FXP_HANDLE", (ID, ("handle", STRING)))
Data = define(T.DATA, "FXP_DATA", (ID, ("data", STRING)))
Name = define(
    T.NAME,
    "FXP_NAME",
    (ID, ("entries", Counted((("filename", STRING), ("longname", STRING), ("attrs", ATTRS)), c.MIN_NAME_ENTRY_SIZE))),
)
Attrs = define(T.ATTRS, "FXP_ATTRS", (ID, ("attrs", ATTRS)))

# --- extensions (section 8, OpenSSH PROTOCOL section 4) ---------------------------------------

_EXT_HEAD = (ID, ("request", DISCRIMINATOR))
Extended = define(T.EXTENDED, "FXP_EXTENDED", (*_EXT_HEAD, ("data", REST)))
Extended.DISCRIMINATED_BY = "request"


def _ext(name: str, cls_name: str, *tail: tuple[str, Kind]) -> type[Message]:
    return subtype(Extended, name, cls_name, (*_EXT_HEAD, *tail))


PosixRename = _ext(c.EXT_POSIX_RENAME, "PosixRename", ("oldpath", STRING), ("newpath", STRING))
Statvfs = _ext(c.EXT_STATVFS, "Statvfs", ("path", STRING))
Fstatvfs = _ext(c.EXT_FSTATVFS, "Fstatvfs", ("handle", STRING))
Hardlink = _ext(c.EXT_HARDLINK, "Hardlink", ("oldpath", STRING), ("newpath", STRING))
Fsync = _ext(c.EXT_FSYNC, "Fsync", ("handle", STRING))
Lsetstat = _ext(c.EXT_LSETSTAT, "Lsetstat", ("path", STRING), ("attrs", ATTRS))
Limits = _ext(c.EXT_LIMITS, "Limits")
ExpandPath = _ext(c.EXT_EXPAND_PATH, "ExpandPath", ("path", STRING))

ExtendedReply = define(T.EXTENDED_REPLY, "FXP_EXTENDED_REPLY", (ID, ("data", REST)))
STATVFS_FIELDS = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree", "f_favail",
                  "f_fsid", "f_flag", "f_namemax")  # fmt: skip
StatvfsReply = define(T.EXTENDED_REPLY, "FXP_EXTENDED_REPLY[statvfs]", (ID, *((f, U64) for f in STATVFS_FIELDS)))
LimitsReply = define(
    T.EXTENDED_REPLY,
    "FXP_EXTENDED_REPLY[limits]",
    (ID, ("max_packet_length", U64), ("max_read_length", U64), ("max_write_length", U64), ("max_open_handles", U64)),
)

# --- tables -----------------------------------------------------------------------------------

REQUEST_TABLE: dict[int, type[Message]] = {cls.ID: cls for cls in (
    Init, Open, Close, Read, Write, Lstat, Fstat, Setstat, Fsetstat, Opendir, Readdir, Remove, Mkdir, Rmdir,
    Realpath, Stat, Rename, Readlink, Symlink, Extended)}  # fmt: skip
RESPONSE_TABLE: dict[int, type[Message]] = {cls.ID: cls for cls in (
    Version, StatusPacket, Handle, Data, Name, Attrs, ExtendedReply)}  # fmt: skip
# EXTENDED_REPLY layouts by the name of the request they answer; others keep ``data`` opaque.
EXTENDED_REPLY_TABLE: dict[str, type[Message]] = {
    c.EXT_STATVFS: StatvfsReply,
    c.EXT_FSTATVFS: StatvfsReply,
    c.EXT_LIMITS: LimitsReply,
}

# Which response types may answer each request type (draft-02 sections 6-7; extensions per
# OpenSSH PROTOCOL). Anything else is a protocol error: a server that answers a READ with a
# HANDLE is exactly what the harness must report.
_STATUS_ONLY = frozenset({T.STATUS})
ALLOWED_RESPONSES: dict[int, frozenset[int]] = {
    T.OPEN: frozenset({T.HANDLE, T.STATUS}),
    T.OPENDIR: frozenset({T.HANDLE, T.STATUS}),
    T.READ: frozenset({T.DATA, T.STATUS}),
    T.READDIR: frozenset({T.NAME, T.STATUS}),
    T.STAT: frozenset({T.ATTRS, T.STATUS}),
    T.LSTAT: frozenset({T.ATTRS, T.STATUS}),
    T.FSTAT: frozenset({T.ATTRS, T.STATUS}),
    T.REALPATH: frozenset({T.NAME, T.STATUS}),
    T.READLINK: frozenset({T.NAME, T.STATUS}),
}
for _t in (T.CLOSE, T.WRITE, T.SETSTAT, T.FSETSTAT, T.REMOVE, T.MKDIR, T.RMDIR, T.RENAME, T.SYMLINK):
    ALLOWED_RESPONSES[_t] = _STATUS_ONLY
EXTENDED_ALLOWED_RESPONSES: dict[str, frozenset[int]] = {
    c.EXT_POSIX_RENAME: _STATUS_ONLY,
    c.EXT_HARDLINK: _STATUS_ONLY,
    c.EXT_FSYNC: _STATUS_ONLY,
    c.EXT_LSETSTAT: _STATUS_ONLY,
    c.EXT_STATVFS: frozenset({T.EXTENDED_REPLY, T.STATUS}),
    c.EXT_FSTATVFS: frozenset({T.EXTENDED_REPLY, T.STATUS}),
    c.EXT_LIMITS: frozenset({T.EXTENDED_REPLY, T.STATUS}),
    c.EXT_EXPAND_PATH: frozenset({T.NAME, T.STATUS}),
}
# An extension we have no table for may answer with any response but VERSION.
ANY_RESPONSE = frozenset(RESPONSE_TABLE) - {T.VERSION}


def packet_name(packet_type: int) -> str:
    try:
        return f"FXP_{T(packet_type).name}"
    except ValueError:
        return f"FXP_UNKNOWN_{packet_type}"


def encode_packet(packet: Message) -> bytes:
    """The packet on the wire: uint32 length, then type byte and fields."""
    body = packet.encode()
    return _U32.pack(len(body)) + body


def decode_request(body: bytes | bytearray | memoryview) -> Message:
    """Decode a client-to-server packet body (type byte first); unknown types raise."""
    if not body:
        raise DecodeError("empty SFTP packet (no type byte)")
    cls = REQUEST_TABLE.get(body[0])
    if cls is None:
        raise DecodeError(f"{packet_name(body[0])} is not an SFTP v3 request")
    return cls.decode(bytes(body))


def decode_response(body: bytes | bytearray | memoryview, extended_request: str | None = None) -> Message:
    """Decode a server-to-client packet body; ``extended_request`` types an EXTENDED_REPLY.

    DATA is decoded without copying its payload: ``data`` is a memoryview into ``body`` (the
    hot path of every download), valid as long as ``body`` is not modified.
    """
    if not body:
        raise DecodeError("empty SFTP packet (no type byte)")
    kind = body[0]
    if kind == T.DATA:
        return _decode_data(body)
    cls = RESPONSE_TABLE.get(kind)
    if cls is None:
        raise DecodeError(f"{packet_name(kind)} is not an SFTP v3 response")
    if kind == T.EXTENDED_REPLY and extended_request is not None:
        cls = EXTENDED_REPLY_TABLE.get(extended_request, ExtendedReply)
    return cls.decode(bytes(body))


def _decode_data(body: bytes | bytearray | memoryview) -> Message:
    if len(body) < 9:
        raise DecodeError(f"FXP_DATA of {len(body)} bytes is shorter than its fixed fields")
    request_id, length = struct.unpack_from(">II", body, 1)
    if length != len(body) - 9:
        raise DecodeError(f"FXP_DATA string length {length} does not match the {len(body) - 9} bytes present")
    packet = Data.__new__(Data)
    packet.__dict__.update(request_id=request_id, data=memoryview(body)[9:])
    return packet
