"""Field kinds for declarative message definitions.

Why declarative: one table of (name, kind) per message gives encode, decode, repr, equality and
the fuzzer's knowledge of every message from a single source, so the codec cannot drift from the
definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from operator import call, methodcaller
from typing import Any

from harness.ssh.errors import DecodeError
from harness.ssh.wire.codec import Reader, Writer


class Kind:
    """How one field is read and written; subclasses are stateless singletons."""

    default: Any = None
    # For kinds that need nothing but the reader: the Reader method that reads one value.
    # Message.decode calls it directly, which saves a call per field on the hot path.
    plain_read: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass that reads differently must not inherit its parent's shortcut.
        super().__init_subclass__(**kwargs)
        if "read" in vars(cls) and "plain_read" not in vars(cls):
            cls.plain_read = None

    def read(self, r: Reader, values: dict[str, Any]) -> Any:
        """Kinds with a ``plain_read`` need no more; the others (If, Counted, ...) override this."""
        if self.plain_read is None:
            raise NotImplementedError
        return self.plain_read(r)

    def write(self, w: Writer, value: Any, values: dict[str, Any]) -> None:
        raise NotImplementedError


class _Byte(Kind):
    default = 0
    plain_read = staticmethod(Reader.byte)

    def write(self, w: Writer, value: int, values: dict[str, Any]) -> None:
        w.byte(value)


class _Bool(Kind):
    default = False
    plain_read = staticmethod(Reader.boolean)

    def write(self, w: Writer, value: bool, values: dict[str, Any]) -> None:
        w.boolean(value)


class _U32(Kind):
    default = 0
    plain_read = staticmethod(Reader.uint32)

    def write(self, w: Writer, value: int, values: dict[str, Any]) -> None:
        w.uint32(value)


class _U64(Kind):
    default = 0
    plain_read = staticmethod(Reader.uint64)

    def write(self, w: Writer, value: int, values: dict[str, Any]) -> None:
        w.uint64(value)


class _String(Kind):
    default = b""
    plain_read = staticmethod(Reader.string)

    def write(self, w: Writer, value: bytes, values: dict[str, Any]) -> None:
        w.string(value)


class _Text(Kind):
    """UTF-8 text (ISO-10646 in the RFCs); invalid UTF-8 is a decode error."""

    default = ""
    plain_read = staticmethod(Reader.utf8)

    def write(self, w: Writer, value: str, values: dict[str, Any]) -> None:
        w.text(value)


class _Names(Kind):
    default = ()
    plain_read = staticmethod(Reader.name_list)

    def write(self, w: Writer, value: tuple[str, ...], values: dict[str, Any]) -> None:
        w.name_list(value)


class _Mpint(Kind):
    default = 0
    plain_read = staticmethod(Reader.mpint)

    def write(self, w: Writer, value: int, values: dict[str, Any]) -> None:
        w.mpint(value)


class _Rest(Kind):
    """Everything after the last fixed field (type-specific data we keep opaque)."""

    default = b""
    plain_read = staticmethod(Reader.rest)

    def write(self, w: Writer, value: bytes, values: dict[str, Any]) -> None:
        w.raw(value)


@dataclass(frozen=True)
class Raw(Kind):
    """A fixed number of raw bytes (the KEXINIT cookie)."""

    size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain_read", methodcaller("raw", self.size))

    @property
    def default(self) -> bytes:  # type: ignore[override]
        return bytes(self.size)

    def write(self, w: Writer, value: bytes, values: dict[str, Any]) -> None:
        if len(value) != self.size:
            raise ValueError(f"expected {self.size} bytes, got {len(value)}")
        w.raw(value)


@dataclass(frozen=True)
class If(Kind):
    """A field present only when an earlier boolean field is true (e.g. a publickey signature)."""

    flag: str
    inner: Kind

    @property
    def default(self) -> Any:  # type: ignore[override]
        return None

    def read(self, r: Reader, values: dict[str, Any]) -> Any:
        return self.inner.read(r, values) if values[self.flag] else None

    def write(self, w: Writer, value: Any, values: dict[str, Any]) -> None:
        if values[self.flag]:
            if value is None:
                raise ValueError(f"field required when {self.flag} is true")
            self.inner.write(w, value, values)


@dataclass(frozen=True)
class Counted(Kind):
    """uint32 count followed by that many records of the given fields (keyboard-interactive)."""

    record: tuple[tuple[str, Kind], ...]
    # A count the remaining bytes cannot possibly hold is refused before any allocation.
    min_record_size: int = 4

    @property
    def default(self) -> Any:  # type: ignore[override]
        return ()

    def read(self, r: Reader, values: dict[str, Any]) -> Any:
        count = r.uint32()
        if count * self.min_record_size > r.remaining():
            raise DecodeError(f"count {count} exceeds what the remaining {r.remaining()} bytes hold")
        if len(self.record) == 1 and self.record[0][1].plain_read is not None:
            # One plain field per record (prompts, responses): the loop runs in C.
            return tuple(map(call, repeat(self.record[0][1].plain_read, count), repeat(r, count)))
        out = []
        for _ in range(count):
            rec = tuple(kind.read(r, values) for _, kind in self.record)
            out.append(rec[0] if len(rec) == 1 else rec)
        return tuple(out)

    def write(self, w: Writer, value: Any, values: dict[str, Any]) -> None:
        w.uint32(len(value))
        for rec in value:
            items = (rec,) if len(self.record) == 1 else rec
            for (_, kind), item in zip(self.record, items, strict=True):
                kind.write(w, item, values)


class _Discriminator(Kind):
    """The field that selects a subtype (method name, request type); its value is the class's."""

    default = ""
    plain_read = staticmethod(Reader.ascii)

    def write(self, w: Writer, value: str, values: dict[str, Any]) -> None:
        w.string(value.encode("ascii"))


BYTE = _Byte()
BOOL = _Bool()
U32 = _U32()
U64 = _U64()
STRING = _String()
TEXT = _Text()
NAMES = _Names()
MPINT = _Mpint()
REST = _Rest()
COOKIE = Raw(16)
DISCRIMINATOR = _Discriminator()
