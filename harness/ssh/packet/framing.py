"""Binary packet framing (RFC 4253 section 6) over pluggable per-direction protection.

Why sealer/opener objects: the cipher and MAC of each direction are chosen once per key
exchange; the framer only asks them for alignment, header size and MAC length, so the packet
loop has no branches on cipher kind. The receive buffer is a bytearray consumed through an
offset (O(1) per packet) and compacted only when the consumed prefix dominates.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from harness.ssh.crypto import compression
from harness.ssh.errors import DecodeError, RemoteProtocolError
from harness.ssh.limits import MAX_PACKET_LENGTH, MIN_PADDING

_HEADER = struct.Struct(">IB")
_SEQ_MASK = 0xFFFFFFFF


class Sealer(Protocol):
    block_size: int
    aad_len: int
    mac_len: int

    def seal(self, seq: int, packet: bytes | bytearray | memoryview) -> bytes: ...


class Opener(Protocol):
    block_size: int
    header_len: int
    mac_len: int

    def packet_length(self, seq: int, header: bytes | memoryview) -> int: ...

    def open(self, seq: int, wire: memoryview) -> bytes: ...


# No compression ("none", and zlib@openssh.com before authentication): the shared identity.
IDENTITY = compression.IDENTITY
Compressor = compression.PayloadCompressor
Decompressor = compression.PayloadDecompressor


class PacketWriter:
    """Frames outgoing payloads; owns the outgoing sequence number and rekey counters."""

    def __init__(self, sealer: Sealer, randbytes: Callable[[int], bytes]) -> None:
        self.sealer = sealer
        self.compressor: Compressor = IDENTITY
        self._randbytes = randbytes
        self.seq = 0
        self.bytes_since_rekey = 0
        self.packets_since_rekey = 0
        # Seams for deliberate misbehaviour (the scenario engine); None in normal use.
        self.tamper_packet: Callable[[bytearray], bytearray] | None = None
        self.tamper_wire: Callable[[bytes], bytes] | None = None

    def set_protection(self, sealer: Sealer, compressor: Compressor, reset_seq: bool) -> None:
        self.sealer = sealer
        self.compressor = compressor
        self.bytes_since_rekey = 0
        self.packets_since_rekey = 0
        if reset_seq:
            self.seq = 0

    def frame(self, payload: bytes, padding_length: int | None = None) -> bytes:
        """Return the wire bytes of one packet carrying ``payload``."""
        sealer = self.sealer
        body = self.compressor.compress(payload)
        block = sealer.block_size if sealer.block_size > 8 else 8
        if padding_length is None:
            padding_length = block - ((5 - sealer.aad_len + len(body)) % block)
            if padding_length < MIN_PADDING:
                padding_length += block
        packet = bytearray(_HEADER.pack(1 + len(body) + padding_length, padding_length))
        packet += body
        packet += self._randbytes(padding_length)
        if self.tamper_packet is not None:
            packet = self.tamper_packet(packet)
        wire = sealer.seal(self.seq, packet)
        if self.tamper_wire is not None:
            wire = self.tamper_wire(wire)
        self.seq = (self.seq + 1) & _SEQ_MASK
        self.bytes_since_rekey += len(wire)
        self.packets_since_rekey += 1
        return wire


class PacketReader:
    """Reassembles incoming packets from arbitrary chunks and returns decrypted payloads."""

    # Compact the buffer once this many consumed bytes sit in front of the unread data.
    _COMPACT_AT = 1 << 16

    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self.decompressor: Decompressor = IDENTITY
        self.seq = 0
        self.bytes_since_rekey = 0
        self.packets_since_rekey = 0
        self._buf = bytearray()
        self._pos = 0
        self._length: int | None = None  # packet_length of the packet being assembled
        self.last_seq = 0

    def set_protection(self, opener: Opener, decompressor: Decompressor, reset_seq: bool) -> None:
        if self._length is not None:
            raise RemoteProtocolError("keys changed in the middle of a packet")
        self.opener = opener
        self.decompressor = decompressor
        self.bytes_since_rekey = 0
        self.packets_since_rekey = 0
        if reset_seq:
            self.seq = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._pos >= self._COMPACT_AT and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def take_raw(self) -> bytes:
        """Remove and return every unparsed byte (used when a stream must be handed over)."""
        data = bytes(self._buf[self._pos :])
        self._buf.clear()
        self._pos = 0
        return data

    def next_payload(self) -> bytes | None:
        """The next complete packet's payload, or None if more bytes are needed."""
        opener = self.opener
        pos = self._pos
        avail = len(self._buf) - pos
        if self._length is None:
            header_len = opener.header_len
            if avail < header_len:
                return None
            # A copy of 4-16 bytes costs less than a memoryview and its release.
            length = opener.packet_length(self.seq, self._buf[pos : pos + header_len])
            if length > MAX_PACKET_LENGTH:
                raise DecodeError(f"packet_length {length} exceeds the limit of {MAX_PACKET_LENGTH}")
            if length < 1 + MIN_PADDING:
                raise DecodeError(f"packet_length {length} too small for padding")
            self._length = length
        total = 4 + self._length + opener.mac_len
        if avail < total:
            return None
        with memoryview(self._buf) as view:
            plain = opener.open(self.seq, view[pos : pos + total])
        length = self._length
        self._length = None
        self._pos = pos + total
        padding = plain[0]
        if padding < MIN_PADDING:
            raise DecodeError(f"padding_length {padding} is below the minimum of {MIN_PADDING}")
        if padding >= length:
            raise DecodeError(f"padding_length {padding} does not fit packet_length {length}")
        self.last_seq = self.seq
        self.seq = (self.seq + 1) & _SEQ_MASK
        self.bytes_since_rekey += total
        self.packets_since_rekey += 1
        payload = plain[1 : length - padding]
        return self.decompressor.decompress(payload)
