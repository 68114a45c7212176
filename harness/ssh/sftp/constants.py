"""Numbers of SFTP version 3 (draft-ietf-secsh-filexfer-02) and OpenSSH's extensions, and our limits.

Why enums: transcripts, reprs and error messages show ``STATUS(NO_SUCH_FILE)`` instead of a bare
number, and a typo in a name fails at import instead of on the wire.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

# The only protocol version we speak. draft-02 section 4: the server answers INIT with the
# lower of its own version and ours; anything but 3 from a v3 client's point of view is an error.
SFTP_VERSION = 3


class PacketType(IntEnum):
    """SSH_FXP_* packet types (draft-02 section 3)."""

    INIT = 1
    VERSION = 2
    OPEN = 3
    CLOSE = 4
    READ = 5
    WRITE = 6
    LSTAT = 7
    FSTAT = 8
    SETSTAT = 9
    FSETSTAT = 10
    OPENDIR = 11
    READDIR = 12
    REMOVE = 13
    MKDIR = 14
    RMDIR = 15
    REALPATH = 16
    STAT = 17
    RENAME = 18
    READLINK = 19
    SYMLINK = 20
    STATUS = 101
    HANDLE = 102
    DATA = 103
    NAME = 104
    ATTRS = 105
    EXTENDED = 200
    EXTENDED_REPLY = 201


class Status(IntEnum):
    """SSH_FX_* status codes. 0-8 are version 3; 9-31 come from later drafts (filexfer-13) and
    are listed because some servers send them to v3 clients too, and a name beats a number."""

    OK = 0
    EOF = 1
    NO_SUCH_FILE = 2
    PERMISSION_DENIED = 3
    FAILURE = 4
    BAD_MESSAGE = 5
    NO_CONNECTION = 6
    CONNECTION_LOST = 7
    OP_UNSUPPORTED = 8
    INVALID_HANDLE = 9
    NO_SUCH_PATH = 10
    FILE_ALREADY_EXISTS = 11
    WRITE_PROTECT = 12
    NO_MEDIA = 13
    NO_SPACE_ON_FILESYSTEM = 14
    QUOTA_EXCEEDED = 15
    UNKNOWN_PRINCIPAL = 16
    LOCK_CONFLICT = 17
    DIR_NOT_EMPTY = 18
    NOT_A_DIRECTORY = 19
    INVALID_FILENAME = 20
    LINK_LOOP = 21
    CANNOT_DELETE = 22
    INVALID_PARAMETER = 23
    FILE_IS_A_DIRECTORY = 24
    BYTE_RANGE_LOCK_CONFLICT = 25
    BYTE_RANGE_LOCK_REFUSED = 26
    DELETE_PENDING = 27
    FILE_CORRUPT = 28
    OWNER_INVALID = 29
    GROUP_INVALID = 30
    NO_MATCHING_BYTE_RANGE_LOCK = 31


def status_name(code: int) -> str:
    try:
        return Status(code).name
    except ValueError:
        return f"STATUS_{code}"


class OpenFlag(IntFlag):
    """SSH_FXF_* pflags of OPEN (draft-02 section 6.3)."""

    READ = 0x01
    WRITE = 0x02
    APPEND = 0x04
    CREAT = 0x08
    TRUNC = 0x10
    EXCL = 0x20


class AttrFlag(IntFlag):
    """SSH_FILEXFER_ATTR_* bits (draft-02 section 5): which optional ATTRS fields are present."""

    SIZE = 0x00000001
    UIDGID = 0x00000002
    PERMISSIONS = 0x00000004
    ACMODTIME = 0x00000008
    EXTENDED = 0x80000000


# Every bit a version 3 ATTRS may carry; any other bit has a layout we cannot know, so the strict
# codec refuses it instead of misreading the rest of the packet.
KNOWN_ATTR_FLAGS = int(AttrFlag.SIZE | AttrFlag.UIDGID | AttrFlag.PERMISSIONS | AttrFlag.ACMODTIME | AttrFlag.EXTENDED)


class StatvfsFlag(IntFlag):
    """f_flag bits of the statvfs@openssh.com reply (OpenSSH PROTOCOL section 4.4)."""

    RDONLY = 0x1
    NOSUID = 0x2


# OpenSSH extension names (PROTOCOL, section 4) as announced in VERSION.
EXT_POSIX_RENAME = "posix-rename@openssh.com"
EXT_STATVFS = "statvfs@openssh.com"
EXT_FSTATVFS = "fstatvfs@openssh.com"
EXT_HARDLINK = "hardlink@openssh.com"
EXT_FSYNC = "fsync@openssh.com"
EXT_LSETSTAT = "lsetstat@openssh.com"
EXT_LIMITS = "limits@openssh.com"
EXT_EXPAND_PATH = "expand-path@openssh.com"

# --- limits ----------------------------------------------------------------------------------

# Largest SFTP packet (length field value) we accept. OpenSSH's client and server both refuse
# anything over SFTP_MAX_MSG_LENGTH = 256 KiB, and no v3 server sends more unless asked for
# reads larger than that, which we never do (see MAX_READ_LENGTH).
MAX_PACKET_LENGTH = 256 * 1024
# Largest READ we request: what fits in MAX_PACKET_LENGTH after DATA's 13 header bytes, rounded
# down like OpenSSH's own SFTP_MAX_READ_LENGTH (256 KiB - 1024). A server's limits@openssh.com
# reply can only lower it.
MAX_READ_LENGTH = MAX_PACKET_LENGTH - 1024
# Largest WRITE data we send unless the server's limits@openssh.com says otherwise (OpenSSH's
# server takes up to 256 KiB - 1024 as well; we never exceed its announced max-write-length).
MAX_WRITE_LENGTH = MAX_PACKET_LENGTH - 1024
# Read/write size without a limits@openssh.com reply: draft-02 has no negotiation, and 32 KiB is
# what every server handles (OpenSSH's sftp client uses it; RFC 4253 guarantees 32768-byte
# channel payloads).
DEFAULT_TRANSFER_LENGTH = 32 * 1024
# Requests we keep outstanding at most (a bound on the request table, not a throughput knob:
# the client's pipelines use far fewer).
MAX_OUTSTANDING_REQUESTS = 4096
# Extension pairs in INIT/VERSION: OpenSSH 9.x announces 12; the bound stops a flood of pairs.
MAX_EXTENSIONS = 256
# Entries in one NAME packet: a count the packet cannot hold is refused before any allocation
# (each entry needs at least 12 bytes: two empty strings and an empty ATTRS).
MIN_NAME_ENTRY_SIZE = 12
