"""Identification string exchange (RFC 4253 section 4.2).

Why a separate object: the version exchange is line-based while everything after it is binary;
keeping it apart means the binary framer never sees a partial line, and the pre-banner limits
live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.ssh.errors import DisconnectReason, NotAnSSHServer, VersionError
from harness.ssh.limits import MAX_PRE_BANNER_BYTES, MAX_PRE_BANNER_LINES, MAX_VERSION_LINE

ACCEPTED_PROTOCOLS = ("2.0", "1.99")
_PREFIX = b"SSH-"
# A line that is no valid identification at all is a protocol error; only a well-formed line
# naming a protocol we do not speak is PROTOCOL_VERSION_NOT_SUPPORTED (VersionError's own code).
_MALFORMED = DisconnectReason.PROTOCOL_ERROR
# Bytes no text line before the identification line contains: C0 controls except TAB, LF, CR
# and ESC (banners may be coloured), and DEL. OpenSSH refuses a NUL at once; refusing all binary
# at once means a TLS or other binary service on the port fails now, not at the caller's timeout.
_BINARY = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0D, 0x1B} | {0x7F})
_QUOTED_BYTES = 60  # how much of the unexpected data an error message quotes


def _has_binary(data: bytes | bytearray) -> bool:
    return len(bytes(data).translate(None, _BINARY)) != len(data)


def not_ssh_message(data: bytes) -> str:
    """'not an SSH server: got b'...'' quoting the first bytes escaped, so the user sees what answered."""
    shown = repr(bytes(data[:_QUOTED_BYTES])) + (" ..." if len(data) > _QUOTED_BYTES else "")
    return f"not an SSH server: got {shown}"


@dataclass(frozen=True)
class PeerVersion:
    """What the peer announced; ``line`` excludes CR LF and is what the exchange hash uses."""

    line: str
    proto_version: str
    software_version: str
    comments: str
    pre_banner: tuple[str, ...]
    ended_with_crlf: bool


def make_version_line(software: str, comments: str = "") -> bytes:
    """Our identification line, validated so we never send an illegal one by accident."""
    if not software or any(c in software for c in " -\r\n") or not software.isascii():
        raise ValueError(f"software version must be printable ASCII without spaces or '-': {software!r}")
    line = f"SSH-2.0-{software}" + (f" {comments}" if comments else "")
    if len(line) + 2 > MAX_VERSION_LINE:
        raise ValueError("identification line longer than 255 bytes")
    return line.encode("ascii") + b"\r\n"


class VersionReader:
    """Collects the peer's identification line from the byte stream.

    ``allow_pre_banner``: servers may send other lines first (RFC 4253 4.2); clients may not,
    so a server-side reader refuses them, as soon as the first bytes cannot begin "SSH-"
    rather than when a newline finally arrives (a client trickling garbage would otherwise hold
    up to the pre-banner limit of buffer).

    Bytes may arrive one at a time, so the newline search resumes where the last one stopped:
    scanning the whole buffer on every call would be quadratic in the pre-banner limit.
    """

    def __init__(self, allow_pre_banner: bool) -> None:
        self._allow_pre_banner = allow_pre_banner
        self._buf = bytearray()
        self._pre: list[str] = []
        self._consumed = 0
        self._scanned = 0  # no newline in _buf[:_scanned]
        self.result: PeerVersion | None = None

    def arrived(self, current_line: bytes = b"") -> bytes:
        """What the peer sent so far without a complete identification line (for error messages):
        the pre-banner lines, ``current_line`` (taken off the buffer already), then the buffer."""
        lines = b"".join(line.encode("utf-8", "replace") + b"\r\n" for line in self._pre)
        return lines + current_line + bytes(self._buf)

    def feed(self, data: bytes) -> bytes:
        """Consume bytes; once the line is complete, return what follows it (else b"")."""
        self._buf += data
        while self.result is None:
            buf = self._buf
            nl = buf.find(b"\n", self._scanned)
            if nl < 0:
                if self._allow_pre_banner and _has_binary(buf[self._scanned :]):
                    raise NotAnSSHServer(not_ssh_message(self.arrived()))
                self._scanned = len(buf)
                if not self._allow_pre_banner and not buf.startswith(_PREFIX[: len(buf)]):
                    raise VersionError(f"client sent data before its identification line: {bytes(buf[:60])!r}")
                if len(buf) > MAX_VERSION_LINE and buf.startswith(_PREFIX):
                    raise VersionError("identification line longer than 255 bytes", _MALFORMED)
                if self._consumed + len(buf) > MAX_PRE_BANNER_BYTES:
                    raise VersionError("no identification line within the pre-banner limit")
                return b""
            raw = bytes(buf[: nl + 1])
            del buf[: nl + 1]
            self._scanned = 0
            self._consumed += len(raw)
            self._line(raw)
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    def _line(self, raw: bytes) -> None:
        crlf = raw.endswith(b"\r\n")
        body = raw[:-2] if crlf else raw[:-1]
        if not body.startswith(_PREFIX):
            if not self._allow_pre_banner:
                raise VersionError(f"client sent data before its identification line: {body[:60]!r}")
            if len(self._pre) >= MAX_PRE_BANNER_LINES or self._consumed > MAX_PRE_BANNER_BYTES:
                raise VersionError(f"more than {MAX_PRE_BANNER_LINES} lines before the identification line")
            if _has_binary(body):
                raise NotAnSSHServer(not_ssh_message(self.arrived(raw)))
            self._pre.append(body.decode("utf-8", "replace"))
            return
        if len(raw) > MAX_VERSION_LINE:
            raise VersionError("identification line longer than 255 bytes", _MALFORMED)
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError as exc:
            raise VersionError(f"identification line is not ASCII: {body!r}", _MALFORMED) from exc
        if not text.isprintable():
            raise VersionError(f"identification line has control characters: {text!r}", _MALFORMED)
        head, _, comments = text.partition(" ")
        parts = head.split("-", 2)
        if len(parts) != 3 or not parts[2]:
            raise VersionError(f"malformed identification line: {text!r}", _MALFORMED)
        proto = parts[1]
        if proto not in ACCEPTED_PROTOCOLS:
            raise VersionError(f"unsupported protocol version {proto!r} in {text!r} (we speak SSH-2.0)")
        self.result = PeerVersion(text, proto, parts[2], comments, tuple(self._pre), crlf)
