"""SSH payload compression (RFC 4253 section 6.2): "none", "zlib" and "zlib@openssh.com".

Why one zlib stream per direction: RFC 4253 6.2 says the compression context is initialised
once per key exchange and carried across packets, each packet ending on a flush boundary so the
receiver can decompress it without waiting for the next one. OpenSSH compresses with
``Z_PARTIAL_FLUSH`` and inflates with ``Z_SYNC_FLUSH`` (packet.c ``compress_buffer`` /
``uncompress_buffer``); we do the same, at OpenSSH's level 6.

Why a decompression limit: a few bytes of deflate can expand a thousandfold, so the receive
path bounds the output per packet and raises :class:`CompressionError` (a
``RemoteProtocolError``) rather than allocating what the peer asks for.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Protocol

from harness.ssh import limits
from harness.ssh.errors import CompressionError


@dataclass(frozen=True)
class CompressionSpec:
    """One compression method; ``delayed`` ones start only after user authentication succeeds."""

    name: str
    delayed: bool
    deflate: bool = field(kw_only=True)  # False only for "none"


COMPRESSIONS: dict[str, CompressionSpec] = {
    "none": CompressionSpec("none", False, deflate=False),
    # OpenSSH's delayed variant: identical zlib, switched on after USERAUTH_SUCCESS so an
    # unauthenticated peer never reaches the decompressor (OpenSSH PROTOCOL section 1.2).
    "zlib@openssh.com": CompressionSpec("zlib@openssh.com", True, deflate=True),
    "zlib": CompressionSpec("zlib", False, deflate=True),
}
DEFAULT_COMPRESSION: tuple[str, ...] = ("none", "zlib@openssh.com", "zlib")

# A decompressed payload can never legitimately exceed the largest packet we accept
# (limits.MAX_PACKET_LENGTH, OpenSSH's 256 KiB), so that is the per-packet output bound.
MAX_DECOMPRESSED = limits.MAX_DECOMPRESSED
# OpenSSH's deflate level (packet.c calls start_compression_out(ssh, 6)).
COMPRESSION_LEVEL = 6


class PayloadCompressor(Protocol):
    """What the packet writer needs: :class:`Compressor` or the identity."""

    def compress(self, payload: bytes) -> bytes: ...


class PayloadDecompressor(Protocol):
    """What the packet reader needs: :class:`Decompressor` or the identity."""

    def decompress(self, data: bytes) -> bytes: ...


class _Identity:
    """The "none" method: payloads pass through unchanged (stateless, so one instance serves all)."""

    def compress(self, payload: bytes) -> bytes:
        return payload

    def decompress(self, data: bytes) -> bytes:
        return data


_IDENTITY = _Identity()
IDENTITY = _IDENTITY  # public name for the packet layer


class Compressor:
    """One deflate stream for a whole connection direction, flushed at every packet boundary."""

    def __init__(self, level: int = COMPRESSION_LEVEL, mem_level: int = zlib.DEF_MEM_LEVEL) -> None:
        # mem_level: zlib's default (8, as OpenSSH's deflateInit) unless a caller that makes
        # many short-lived streams (the packet fuzz target) trades ratio for a cheap setup:
        # at 8 zlib allocates ~256 KiB per stream (~25 us), at 1 a few KiB (~0.3 us).
        self._stream = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS, mem_level)

    def compress(self, payload: bytes) -> bytes:
        stream = self._stream
        return stream.compress(payload) + stream.flush(zlib.Z_PARTIAL_FLUSH)


class Decompressor:
    """One inflate stream for a whole connection direction, with a per-packet output bound."""

    def __init__(self, limit: int = MAX_DECOMPRESSED) -> None:
        self._stream = zlib.decompressobj()
        self._limit = limit

    def decompress(self, data: bytes) -> bytes:
        stream = self._stream
        try:
            # CPython inflates with Z_SYNC_FLUSH; asking for one byte more than the limit tells
            # "exactly at the limit" apart from "over it" without inflating the rest.
            out = stream.decompress(data, self._limit + 1)
        except zlib.error as exc:
            raise CompressionError(f"corrupt compressed payload: {exc}") from None
        if len(out) > self._limit or stream.unconsumed_tail:
            raise CompressionError(f"decompressed payload exceeds the limit of {self._limit} bytes")
        if stream.eof:
            # OpenSSH treats Z_STREAM_END as an error too: the stream must last the connection.
            raise CompressionError("peer ended its compression stream")
        return out


def make_compressor(spec: CompressionSpec) -> PayloadCompressor:
    """A fresh outgoing compressor for ``spec`` (identity for "none")."""
    return Compressor() if spec.deflate else _IDENTITY


def make_decompressor(spec: CompressionSpec, limit: int = MAX_DECOMPRESSED) -> PayloadDecompressor:
    """A fresh incoming decompressor for ``spec`` (identity for "none")."""
    return Decompressor(limit) if spec.deflate else _IDENTITY
