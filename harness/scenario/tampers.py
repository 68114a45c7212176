"""Tampers: deliberate damage at every layer a tester needs.

Each tamper is a small object with one ``apply`` method for its layer:

- message level: edit a typed message before it is encoded (``SetField``);
- payload level: edit the encoded payload bytes (``Truncate``, ``Append``, ``FlipByte``);
- plaintext packet: edit ``packet_length | padding_length | payload | padding`` before
  encryption (``PacketLength``, ``PaddingLength``) through ``PacketWriter.tamper_packet``;
- ciphertext and MAC: edit the sealed bytes (``FlipCiphertext``, ``FlipMac``) through
  ``PacketWriter.tamper_wire``;
- TCP stream: change how our output reaches the socket (``SplitWrites``, ``Reorder``,
  ``Drop``), applied by the runner to the bytes it writes.

Packet and wire tampers are one-shot by default (``count`` packets), so the next packet the
scenario sends is the damaged one and everything after it is normal.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any


class Tamper:
    layer = "?"
    count = 1

    def describe(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


# -- message level ------------------------------------------------------------------------


@dataclass
class SetField(Tamper):
    """Set a field of the message being sent (after its normal construction)."""

    name: str
    value: Any
    layer = "message"

    def apply(self, msg: Any) -> Any:
        setattr(msg, self.name, self.value)
        return msg


# -- payload level ------------------------------------------------------------------------


@dataclass
class Truncate(Tamper):
    """Keep only the first ``keep`` payload bytes (negative: drop that many from the end)."""

    keep: int
    layer = "payload"

    def apply(self, payload: bytes) -> bytes:
        return payload[: self.keep]


@dataclass
class Append(Tamper):
    data: bytes
    layer = "payload"

    def apply(self, payload: bytes) -> bytes:
        return payload + self.data


@dataclass
class FlipByte(Tamper):
    offset: int
    mask: int = 0xFF
    layer = "payload"

    def apply(self, payload: bytes) -> bytes:
        b = bytearray(payload)
        b[self.offset] ^= self.mask
        return bytes(b)


# -- plaintext packet ---------------------------------------------------------------------


@dataclass
class PacketLength(Tamper):
    """Overwrite the plaintext packet_length field (the MAC is computed over the lie)."""

    value: int
    count: int = 1
    layer = "packet"

    def apply(self, packet: bytearray) -> bytearray:
        packet[0:4] = struct.pack(">I", self.value & 0xFFFFFFFF)
        return packet


@dataclass
class PaddingLength(Tamper):
    """Overwrite the padding_length byte (e.g. 255 or a value below the minimum of 4)."""

    value: int
    count: int = 1
    layer = "packet"

    def apply(self, packet: bytearray) -> bytearray:
        packet[4] = self.value & 0xFF
        return packet


@dataclass
class ExtraPadding(Tamper):
    """Add ``extra`` zero bytes of padding and make both length fields true to them: a packet
    that is consistent in every field but no longer a multiple of the cipher block size (RFC
    4253 6), so only the alignment rule is broken."""

    extra: int = 1
    count: int = 1
    layer = "packet"

    def apply(self, packet: bytearray) -> bytearray:
        length, padding = struct.unpack(">IB", bytes(packet[:5]))
        rebuilt = bytearray(struct.pack(">IB", length + self.extra, padding + self.extra))
        rebuilt += packet[5:] + bytes(self.extra)
        return rebuilt


# -- ciphertext and MAC -------------------------------------------------------------------


@dataclass
class FlipCiphertext(Tamper):
    """Flip bits of the sealed packet at ``offset`` from its start (past the length field by default)."""

    offset: int = 8
    mask: int = 0x01
    count: int = 1
    layer = "wire"

    def apply(self, wire: bytes) -> bytes:
        b = bytearray(wire)
        b[min(self.offset, len(b) - 1)] ^= self.mask
        return bytes(b)


@dataclass
class FlipMac(Tamper):
    """Flip a bit in the last byte of the sealed packet: the MAC or AEAD tag."""

    mask: int = 0x80
    count: int = 1
    layer = "wire"

    def apply(self, wire: bytes) -> bytes:
        b = bytearray(wire)
        b[-1] ^= self.mask
        return bytes(b)


# -- TCP stream ---------------------------------------------------------------------------


@dataclass
class SplitWrites(Tamper):
    """Write our output in pieces of ``size`` bytes with ``pause`` seconds between them."""

    size: int = 1
    pause: float = 0.0
    count: int = 1  # writes (flushes) affected
    layer = "stream"

    def chunks(self, data: bytes) -> list[tuple[bytes, float]]:
        return [(data[i : i + self.size], self.pause) for i in range(0, len(data), self.size)]


@dataclass
class Reorder(Tamper):
    """Hold back the first ``hold`` bytes of the next write and send them after the rest."""

    hold: int
    count: int = 1
    layer = "stream"

    def chunks(self, data: bytes) -> list[tuple[bytes, float]]:
        return [(data[self.hold :], 0.0), (data[: self.hold], 0.0)]


@dataclass
class Drop(Tamper):
    """Drop bytes [start, start+length) of the next write (length None: to the end)."""

    start: int = 0
    length: int | None = None
    count: int = 1
    layer = "stream"

    def chunks(self, data: bytes) -> list[tuple[bytes, float]]:
        end = len(data) if self.length is None else self.start + self.length
        return [(data[: self.start] + data[end:], 0.0)]
