"""Strict codec for the RFC 4251 data types.

Why strict: a lenient parser hides exactly the deviations this harness exists to find. Short
input, trailing bytes, non-canonical mpints and malformed name-lists all raise
:class:`DecodeError`; nothing is padded or guessed.
"""

from __future__ import annotations

import struct

from harness.ssh.errors import DecodeError

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

# RFC 4251 allows names up to 64 characters; a name-list is bounded by its string length, which
# the packet length already bounds (<= 256 KiB), so no extra cap is needed here.
MAX_NAME_LENGTH = 64


class Reader:
    """Consumes a byte buffer field by field; every read checks the bounds first."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, start: int = 0) -> None:
        self._data = data if isinstance(data, bytes) else bytes(data)
        self._pos = start
        self._end = len(self._data)

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return self._end - self._pos

    def _take(self, n: int, what: str) -> int:
        pos = self._pos
        if n < 0 or pos + n > self._end:
            raise DecodeError(f"short input: {what} needs {n} bytes, {self._end - pos} left")
        self._pos = pos + n
        return pos

    def raw(self, n: int, what: str = "bytes") -> bytes:
        pos = self._take(n, what)
        return self._data[pos : pos + n]

    def rest(self) -> bytes:
        pos, self._pos = self._pos, self._end
        return self._data[pos:]

    # The readers below check bounds inline rather than through ``_take``: they run for every
    # field of every packet and every fuzz input, and a Python call per field is most of the cost.

    def byte(self) -> int:
        pos = self._pos
        if pos >= self._end:
            raise DecodeError("short input: byte needs 1 bytes, 0 left")
        self._pos = pos + 1
        return self._data[pos]

    def boolean(self) -> bool:
        # RFC 4251: any non-zero value is TRUE; we accept it but keep the strictness elsewhere.
        return self.byte() != 0

    def uint32(self) -> int:
        pos = self._pos
        if pos + 4 > self._end:
            raise DecodeError(f"short input: uint32 needs 4 bytes, {self._end - pos} left")
        self._pos = pos + 4
        return _U32.unpack_from(self._data, pos)[0]

    def uint64(self) -> int:
        pos = self._take(8, "uint64")
        return _U64.unpack_from(self._data, pos)[0]

    def string(self) -> bytes:
        pos = self._pos
        try:
            start = pos + 4
            stop = start + _U32.unpack_from(self._data, pos)[0]
        except struct.error:  # fewer than 4 bytes left (_end is the buffer's length)
            raise DecodeError(f"short input: uint32 needs 4 bytes, {self._end - pos} left") from None
        if stop > self._end:
            raise DecodeError(f"short input: string needs {stop - start} bytes, {self._end - start} left")
        self._pos = stop
        return self._data[start:stop]

    def utf8(self) -> str:
        raw = self.string()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"string is not valid UTF-8: {raw[:40]!r}") from exc

    def ascii(self) -> str:
        raw = self.string()
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"string is not US-ASCII: {raw[:40]!r}") from exc

    def name_list(self) -> tuple[str, ...]:
        return decode_name_list(self.string())

    def mpint(self) -> int:
        return decode_mpint(self.string())

    def check_end(self) -> None:
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} trailing bytes after the last field")


def decode_name_list(raw: bytes) -> tuple[str, ...]:
    """Parse a comma-separated name-list; empty names, non-ASCII or control characters raise.

    The checks run on the whole text at once (C-level string methods), not name by name: a
    KEXINIT carries ten lists of up to dozens of names, and a Python loop per name was the
    largest cost of decoding one, for the connection and the fuzzer alike.
    """
    if not raw:
        return ()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"name-list is not US-ASCII: {raw[:40]!r}") from exc
    names = tuple(text.split(","))
    if "" in names:
        raise DecodeError(f"name-list has an empty name: {text[:80]!r}")
    longest = max(names, key=len)
    if len(longest) > MAX_NAME_LENGTH:
        raise DecodeError(f"name longer than {MAX_NAME_LENGTH} characters: {longest[:80]!r}")
    if not text.isprintable() or " " in text:
        name = next(n for n in names if not n.isprintable() or " " in n)
        raise DecodeError(f"name has a control character or space: {name!r}")
    return names


def decode_mpint(raw: bytes) -> int:
    """Parse an mpint body; redundant leading 0x00/0xff bytes raise (canonical form only)."""
    if not raw:
        return 0
    if len(raw) > 1:
        first, second = raw[0], raw[1]
        if (first == 0 and second < 0x80) or (first == 0xFF and second >= 0x80):
            raise DecodeError("mpint has a redundant leading byte (not canonical)")
    if raw == b"\x00":
        raise DecodeError("mpint zero must be encoded as an empty string")
    return int.from_bytes(raw, "big", signed=True)


def encode_mpint(value: int) -> bytes:
    """mpint body without the length prefix (two's complement, minimal length)."""
    if value == 0:
        return b""
    length = (value.bit_length() + 8) // 8  # room for the sign bit
    raw = value.to_bytes(length, "big", signed=True)
    # trim a redundant sign byte that bit_length rounding may leave
    if len(raw) > 1 and ((raw[0] == 0 and raw[1] < 0x80) or (raw[0] == 0xFF and raw[1] >= 0x80)):
        raw = raw[1:]
    return raw


def encode_string(value: bytes) -> bytes:
    return _U32.pack(len(value)) + value


def encode_uint32(value: int) -> bytes:
    return _U32.pack(value)


def encode_name_list(names: tuple[str, ...] | list[str]) -> bytes:
    for name in names:
        if not name or "," in name:
            raise ValueError(f"invalid algorithm name for a name-list: {name!r}")
    return ",".join(names).encode("ascii")


class Writer:
    """Builds a message into one bytearray (no repeated joins)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def byte(self, value: int) -> Writer:
        self._buf.append(value)
        return self

    def boolean(self, value: bool) -> Writer:
        self._buf.append(1 if value else 0)
        return self

    def uint32(self, value: int) -> Writer:
        self._buf += _U32.pack(value)
        return self

    def uint64(self, value: int) -> Writer:
        self._buf += _U64.pack(value)
        return self

    def string(self, value: bytes | bytearray | memoryview) -> Writer:
        self._buf += _U32.pack(len(value))
        self._buf += value
        return self

    def text(self, value: str) -> Writer:
        return self.string(value.encode("utf-8"))

    def name_list(self, names: tuple[str, ...] | list[str]) -> Writer:
        return self.string(encode_name_list(names))

    def mpint(self, value: int) -> Writer:
        return self.string(encode_mpint(value))

    def raw(self, value: bytes | bytearray | memoryview) -> Writer:
        self._buf += value
        return self

    def getvalue(self) -> bytes:
        return bytes(self._buf)
