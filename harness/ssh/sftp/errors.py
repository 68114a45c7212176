"""SFTP errors: status codes as ``OSError`` subclasses, and the protocol-violation error.

Why OSError: SFTP callers are file-handling code that already catches ``FileNotFoundError`` and
``PermissionError`` and looks at ``errno``/``filename`` (paramiko raises ``IOError`` with the
errno too). Each class also derives from :class:`SFTPError`, which keeps the server's status
code and text, so a harness report can say exactly what the server answered.
"""

from __future__ import annotations

import errno

from harness.ssh.errors import RemoteProtocolError
from harness.ssh.printable import printable
from harness.ssh.sftp.constants import Status, status_name


class SFTPProtocolError(RemoteProtocolError):
    """The server broke the SFTP protocol (unknown request id, wrong response type, bad version).

    The session cannot continue after this: request/response matching is lost.
    """


class SFTPError(OSError):
    """A request failed with a STATUS other than OK; ``code`` is the SSH_FX_* value."""

    code: int = Status.FAILURE
    server_message: str = ""


class SFTPEOFError(SFTPError, EOFError):
    """SSH_FX_EOF where data or names were required."""


class SFTPNoSuchFileError(SFTPError, FileNotFoundError):
    pass


class SFTPPermissionError(SFTPError, PermissionError):
    pass


class SFTPFileExistsError(SFTPError, FileExistsError):
    pass


class SFTPNotADirectoryError(SFTPError, NotADirectoryError):
    pass


class SFTPIsADirectoryError(SFTPError, IsADirectoryError):
    pass


class SFTPConnectionError(SFTPError, ConnectionError):
    pass


# code -> (exception class, errno). OpenSSH's server maps errno to the nine v3 codes
# (ENOENT, ENOTDIR, EBADF, ELOOP -> NO_SUCH_FILE; EPERM, EACCES -> PERMISSION_DENIED; ...);
# codes from later drafts get their natural errno so servers that send them are understood.
_ERRORS: dict[int, tuple[type[SFTPError], int | None]] = {
    Status.EOF: (SFTPEOFError, None),
    Status.NO_SUCH_FILE: (SFTPNoSuchFileError, errno.ENOENT),
    Status.PERMISSION_DENIED: (SFTPPermissionError, errno.EACCES),
    Status.FAILURE: (SFTPError, errno.EIO),
    Status.BAD_MESSAGE: (SFTPError, errno.EBADMSG),
    Status.NO_CONNECTION: (SFTPConnectionError, errno.ENOTCONN),
    Status.CONNECTION_LOST: (SFTPConnectionError, errno.ECONNABORTED),
    Status.OP_UNSUPPORTED: (SFTPError, errno.EOPNOTSUPP),
    Status.INVALID_HANDLE: (SFTPError, errno.EBADF),
    Status.NO_SUCH_PATH: (SFTPNoSuchFileError, errno.ENOENT),
    Status.FILE_ALREADY_EXISTS: (SFTPFileExistsError, errno.EEXIST),
    Status.WRITE_PROTECT: (SFTPError, errno.EROFS),
    Status.NO_MEDIA: (SFTPError, errno.ENOMEDIUM),
    Status.NO_SPACE_ON_FILESYSTEM: (SFTPError, errno.ENOSPC),
    Status.QUOTA_EXCEEDED: (SFTPError, errno.EDQUOT),
    Status.UNKNOWN_PRINCIPAL: (SFTPError, errno.EINVAL),
    Status.LOCK_CONFLICT: (SFTPError, errno.EAGAIN),
    Status.DIR_NOT_EMPTY: (SFTPError, errno.ENOTEMPTY),
    Status.NOT_A_DIRECTORY: (SFTPNotADirectoryError, errno.ENOTDIR),
    Status.INVALID_FILENAME: (SFTPError, errno.EINVAL),
    Status.LINK_LOOP: (SFTPError, errno.ELOOP),
    Status.CANNOT_DELETE: (SFTPPermissionError, errno.EACCES),
    Status.INVALID_PARAMETER: (SFTPError, errno.EINVAL),
    Status.FILE_IS_A_DIRECTORY: (SFTPIsADirectoryError, errno.EISDIR),
    Status.BYTE_RANGE_LOCK_CONFLICT: (SFTPError, errno.EAGAIN),
    Status.BYTE_RANGE_LOCK_REFUSED: (SFTPError, errno.ENOLCK),
    Status.DELETE_PENDING: (SFTPError, errno.EBUSY),
    Status.FILE_CORRUPT: (SFTPError, errno.EIO),
    Status.OWNER_INVALID: (SFTPError, errno.EINVAL),
    Status.GROUP_INVALID: (SFTPError, errno.EINVAL),
    Status.NO_MATCHING_BYTE_RANGE_LOCK: (SFTPError, errno.ENOLCK),
}


def status_error(code: int, message: str, path: str | None = None, path2: str | None = None) -> SFTPError:
    """The exception for a failed STATUS; ``path`` (and ``path2`` for two-path requests) name
    what the request was about, so the message says which file failed."""
    cls, err = _ERRORS.get(code, (SFTPError, errno.EIO))
    shown = printable(message) if message else status_name(code).replace("_", " ").capitalize()
    text = f"{shown} (SSH_FX_{status_name(code)})"  # the server's text, its control characters escaped
    if err is None:
        exc = cls(f"{text}: {path!r}" if path is not None else text)
    elif path2 is not None:
        exc = cls(err, text, path, None, path2)
    elif path is not None:
        exc = cls(err, text, path)
    else:
        exc = cls(err, text)
    exc.code = code
    exc.server_message = message
    return exc
