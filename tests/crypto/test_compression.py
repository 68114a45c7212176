"""Payload compression (harness.ssh.crypto.compression): one stream per direction, bounded output.

Why these tests: the compressor must flush at every packet (the peer decompresses each packet
on its own, without waiting for the next), the stream must carry across packets (both sides
keep one zlib context for the whole direction), and whatever the peer sends, the receive side
either returns at most ``limit`` bytes or raises CompressionError, the one promised exception.
"""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.crypto.compression import (
    COMPRESSIONS,
    DEFAULT_COMPRESSION,
    MAX_DECOMPRESSED,
    Compressor,
    Decompressor,
    make_compressor,
    make_decompressor,
)
from harness.ssh.errors import CompressionError, RemoteProtocolError
from harness.ssh.limits import MAX_PACKET_LENGTH


def payloads(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(1, 12)) for _ in range(40)]
    out = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.4:  # text-like: compresses, and refers back to earlier packets
            out.append(b" ".join(rng.choice(words) for _ in range(rng.randint(0, 400))))
        elif kind < 0.7:  # incompressible
            out.append(rng.randbytes(rng.randint(0, 5000)))
        else:  # long runs, up to a full 32 KiB channel packet
            out.append(bytes([rng.randrange(256)]) * rng.randint(1, 32768))
    return out


def test_specs() -> None:
    assert DEFAULT_COMPRESSION == ("none", "zlib@openssh.com", "zlib")
    assert set(DEFAULT_COMPRESSION) == set(COMPRESSIONS)
    assert COMPRESSIONS["zlib@openssh.com"].delayed
    assert not COMPRESSIONS["zlib"].delayed and not COMPRESSIONS["none"].delayed
    assert MAX_DECOMPRESSED >= MAX_PACKET_LENGTH


def test_none_is_identity() -> None:
    spec = COMPRESSIONS["none"]
    data = b"\x00abc" * 10
    assert make_compressor(spec).compress(data) is data
    assert make_decompressor(spec).decompress(data) is data


@pytest.mark.parametrize("name", ["zlib", "zlib@openssh.com"])
def test_round_trip_many_packets_in_one_stream(name: str) -> None:
    spec = COMPRESSIONS[name]
    compressor, decompressor = make_compressor(spec), make_decompressor(spec)
    # An independent inflater over the concatenated stream: one zlib stream, not many.
    oracle = zlib.decompressobj()
    for payload in payloads(1, 300):
        packet = compressor.compress(payload)
        # Flushed per packet: this packet alone yields all of its payload, nothing held back.
        assert decompressor.decompress(packet) == payload
        assert oracle.decompress(packet) == payload
    assert not oracle.eof


def test_stream_state_carries_across_packets() -> None:
    """A repeated payload compresses to a back-reference, which only works with shared state."""
    compressor = Compressor()
    payload = random.Random(2).randbytes(2000)
    first, second = compressor.compress(payload), compressor.compress(payload)
    assert len(second) < len(first) // 10
    with pytest.raises(CompressionError):
        Decompressor().decompress(second)  # without the first packet the stream makes no sense


def test_partial_flush_boundary_matches_openssh() -> None:
    """OpenSSH's deflate(Z_PARTIAL_FLUSH) output for the same stream state is byte-identical."""
    reference = zlib.compressobj(6)
    compressor = Compressor()
    for payload in payloads(3, 20):
        assert compressor.compress(payload) == reference.compress(payload) + reference.flush(zlib.Z_PARTIAL_FLUSH)


def test_bomb_exceeds_the_default_limit() -> None:
    bomb = Compressor().compress(bytes(MAX_DECOMPRESSED + 1))
    assert len(bomb) < 1024
    with pytest.raises(CompressionError, match="exceeds the limit") as info:
        Decompressor().decompress(bomb)
    assert isinstance(info.value, RemoteProtocolError)


def test_exactly_at_the_limit_passes_one_more_byte_fails() -> None:
    limit = 5000
    compressor = Compressor()
    assert Decompressor(limit).decompress(compressor.compress(bytes(limit))) == bytes(limit)
    with pytest.raises(CompressionError):
        Decompressor(limit).decompress(Compressor().compress(bytes(limit + 1)))
    with pytest.raises(CompressionError):
        make_decompressor(COMPRESSIONS["zlib"], limit=100).decompress(Compressor().compress(bytes(101)))


def test_garbage_and_corruption() -> None:
    with pytest.raises(CompressionError, match="corrupt"):
        Decompressor().decompress(b"garbage that is not a zlib stream")
    good = Compressor()
    decompressor = Decompressor()
    decompressor.decompress(good.compress(b"hello " * 50))
    broken = bytearray(good.compress(random.Random(4).randbytes(300)))
    broken[2:] = bytes(len(broken) - 2)  # keep the block header, zero the rest
    with pytest.raises(CompressionError):
        decompressor.decompress(bytes(broken))


def test_ended_stream_is_an_error() -> None:
    """A peer that finishes its zlib stream (Z_STREAM_END) breaks the per-direction contract."""
    stream = zlib.compressobj()
    finished = stream.compress(b"bye") + stream.flush(zlib.Z_FINISH)
    with pytest.raises(CompressionError, match="ended"):
        Decompressor().decompress(finished)


@given(st.lists(st.binary(max_size=300), max_size=5))
def test_arbitrary_input_never_raises_anything_else(chunks: list[bytes]) -> None:
    decompressor = Decompressor(limit=2000)
    for chunk in chunks:
        try:
            out = decompressor.decompress(chunk)
        except CompressionError:
            return
        assert len(out) <= 2000
