"""The Message base class: declarative fields, strict decode, symbolic repr.

A message class lists ``FIELDS`` as (name, kind) pairs. Messages whose layout depends on a name
carried inside them (USERAUTH_REQUEST's method, CHANNEL_REQUEST's type, ...) have a generic class
whose tail is kept as raw bytes, and typed subclasses registered under the name: decoding reads
the name, then re-reads the payload with the subclass's layout.
"""

from __future__ import annotations

from itertools import repeat
from operator import call
from typing import Any, ClassVar

from harness.ssh.errors import DecodeError
from harness.ssh.wire.codec import Reader, Writer
from harness.ssh.wire.fields import DISCRIMINATOR, Kind


class Message:
    """One SSH message. Instances are plain mutable records so tampers can edit them."""

    ID: ClassVar[int]
    NAME: ClassVar[str]
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = ()
    # For generic classes: name of the discriminator field and the registered subtypes.
    DISCRIMINATED_BY: ClassVar[str | None] = None
    SUBTYPES: ClassVar[dict[str, type[Message]]] = {}
    SUBTYPE: ClassVar[str | None] = None
    # Decode plans built from FIELDS when the class is made. When every field has a plain reader
    # (no field depends on an earlier one), decoding is ``map(call, readers, repeat(r))``: the loop
    # runs in C, so a message costs its reader calls and nothing per field besides. That is most of
    # the connection's decode time and most of the codec fuzz target's (where every Python branch
    # also pays for a coverage callback). _DISCRIMINATOR_AT splits the readers of a generic class
    # after its discriminator, so a registered subtype can take over.
    _NAMES: ClassVar[tuple[str, ...]] = ()
    _READERS: ClassVar[tuple[Any, ...] | None] = ()
    _DISCRIMINATOR_AT: ClassVar[int] = -1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._NAMES = tuple(name for name, _ in cls.FIELDS)
        readers = tuple(kind.plain_read for _, kind in cls.FIELDS)
        cls._READERS = None if None in readers else readers
        kinds = [kind for _, kind in cls.FIELDS]
        cls._DISCRIMINATOR_AT = kinds.index(DISCRIMINATOR) if DISCRIMINATOR in kinds else -1

    def __init__(self, **values: Any) -> None:
        names = {name for name, _ in self.FIELDS}
        unknown = set(values) - names
        if unknown:
            raise TypeError(f"{self.NAME} has no field(s) {sorted(unknown)}")
        for name, kind in self.FIELDS:
            if name in values:
                setattr(self, name, values[name])
            elif kind is DISCRIMINATOR and self.SUBTYPE is not None:
                setattr(self, name, self.SUBTYPE)
            else:
                setattr(self, name, kind.default)

    # -- encoding -------------------------------------------------------------------------

    def encode(self) -> bytes:
        w = Writer()
        w.byte(self.ID)
        values = self.values()
        for name, kind in self.FIELDS:
            kind.write(w, values[name], values)
        return w.getvalue()

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name, _ in self.FIELDS}

    @classmethod
    def decode(cls, payload: bytes) -> Message:
        """Decode a whole payload (message number included); trailing bytes raise."""
        if not payload or payload[0] != cls.ID:
            raise DecodeError(f"payload is not {cls.NAME}")
        r = Reader(payload, 1)
        readers = cls._READERS
        split = cls._DISCRIMINATOR_AT + 1 if cls.SUBTYPES and cls.SUBTYPE is None else 0
        if readers is None:
            values = cls._read_fields(r, split)
            if isinstance(values, type):
                return values.decode(payload)
        elif split:
            values = dict(zip(cls._NAMES[:split], map(call, readers[:split], repeat(r)), strict=True))
            sub = cls.SUBTYPES.get(values[cls._NAMES[split - 1]])
            if sub is not None:
                return sub.decode(payload)
            values.update(zip(cls._NAMES[split:], map(call, readers[split:], repeat(r)), strict=True))
        else:
            values = dict(zip(cls._NAMES, map(call, readers, repeat(r)), strict=True))
        r.check_end()
        obj = cls.__new__(cls)
        obj.__dict__.update(values)
        return obj

    @classmethod
    def _read_fields(cls, r: Reader, split: int) -> dict[str, Any] | type[Message]:
        """Field by field, for layouts with fields that depend on earlier ones (If, Counted).

        Returns the subtype to decode with instead when the discriminator names one.
        """
        values: dict[str, Any] = {}
        for index, (name, kind) in enumerate(cls.FIELDS, 1):
            values[name] = kind.read(r, values)
            if index == split:
                sub = cls.SUBTYPES.get(values[name])
                if sub is not None:
                    return sub
        return values

    # -- comparison and display -----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.values() == other.values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.encode()))

    def __repr__(self) -> str:
        parts = [f"{name}={_show(getattr(self, name))}" for name, _ in self.FIELDS]
        return f"{self.NAME}({', '.join(parts)})"


class UnknownMessage(Message):
    """A message number we do not implement: answered with SSH_MSG_UNIMPLEMENTED."""

    NAME = "UNKNOWN"

    def __init__(self, msg_id: int, body: bytes = b"") -> None:
        self.msg_id = msg_id
        self.body = body

    @property  # type: ignore[override]
    def ID(self) -> int:  # noqa: N802 - mirrors the class attribute of known messages
        return self.msg_id

    def values(self) -> dict[str, Any]:
        return {"msg_id": self.msg_id, "body": self.body}

    def encode(self) -> bytes:
        return bytes([self.msg_id]) + self.body

    def __repr__(self) -> str:
        return f"UNKNOWN(msg_id={self.msg_id}, body=<{len(self.body)} bytes>)"


def define(msg_id: int, name: str, fields: tuple[tuple[str, Kind], ...], doc: str = "") -> type[Message]:
    """Create a Message class from a table row (used for the many simple messages)."""
    namespace = {"ID": msg_id, "NAME": name, "FIELDS": fields, "SUBTYPES": {}, "__doc__": doc}
    cls = type(name, (Message,), namespace)
    return cls


def subtype(base: type[Message], value: str, name: str, fields: tuple[tuple[str, Kind], ...]) -> type[Message]:
    """Register a typed layout of ``base`` for discriminator ``value``."""
    cls = type(
        name,
        (base,),
        {"NAME": f"{base.NAME}[{value}]", "FIELDS": fields, "SUBTYPE": value, "SUBTYPES": {}},
    )
    base.SUBTYPES[value] = cls
    return cls


def _show(value: Any) -> str:
    """Short, readable field value for repr and transcripts (long blobs abbreviated)."""
    if isinstance(value, bytes | bytearray) and len(value) > 48:
        return f"<{len(value)} bytes {bytes(value[:16]).hex()}...>"
    return repr(value)
