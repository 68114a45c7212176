"""Fuzz target: the identification line and binary packet layer (harness.ssh.packet).

Input: ``[cipher][mac][flags][4 chunk sizes][records...]`` (records: 2-byte length prefix).
Record 0 is the identification-line area (unless flag 0x40 skips the version exchange); the
rest depends on the stream mode (flags bits 2-3):

- 0, payload round trip: each record is a payload; a ``PacketWriter`` frames and seals it under
  the chosen cipher and MAC (fixed keys) and optional zlib, and the ``PacketReader`` on the
  other side must return exactly the same payloads, whatever the chunking.
- 1, sealed plaintext packets: each record is a whole plaintext packet (packet_length,
  padding_length, payload, padding) with fuzzer-chosen, possibly lying fields, sealed as is.
- 2, raw wire bytes: the records are fed unsealed (random ciphertext, MAC failures).
- 3, padding round trip: each record is ``[padding_length][payload]``; the writer frames it
  with that padding. A padding the RFC allows (>= 4, aligning the packet to the cipher block)
  must round-trip; any other must make the reader raise ``DecodeError`` at that very packet.

An input carries at most :data:`MAX_RECORDS` records; more are ignored. The state the packet
layer carries from one packet to the next (sequence number, CBC/CTR cipher state, GCM
invocation counter, the zlib window) is the same at the 17th packet as at the 5th, while each
extra packet costs a seal and an open: the mutator's favourite bloat (runs of empty records)
made inputs of hundreds of packets take 65% of a campaign's time for no new state. The real
seeds carry at most four.

Bits 0-1 of flags choose the feeding (whole stream, byte by byte, fuzzer-chosen chunks); bit 4
turns on zlib both ways; bit 5 makes the version reader the server's (no pre-banner lines).

Oracle: only ``RemoteProtocolError`` subclasses (DecodeError, MacError, CompressionError,
VersionError) escape; the round trips above hold; the reader never holds more bytes than it
was fed, so no length field from the peer sizes an allocation.
"""

from __future__ import annotations

import functools
import sys

from harness.fuzz.common import FEED_CHUNKS, OracleViolation, chunked, instrumented, split_records, uninstrument

with instrumented():
    from harness.ssh.crypto import aead
    from harness.ssh.crypto import compression as comp
    from harness.ssh.crypto import protection as prot
    from harness.ssh.errors import DecodeError, RemoteProtocolError
    from harness.ssh.limits import MIN_PADDING
    from harness.ssh.packet.framing import PacketReader, PacketWriter
    from harness.ssh.packet.version import VersionReader

# The writer side builds the stream the reader is fed: the oracle's tooling, not what the fuzzer
# explores (the reader, the openers and the decompressor are). Instrumented, framing and sealing
# cost about a quarter of each input and their coverage only mirrors the record lengths.
uninstrument(PacketWriter.frame, prot._EamSealer.seal, prot._EtmSealer.seal, prot._PlainSealer.seal,
             aead.GcmSealer.seal, aead.ChachaPolySealer.seal, comp.Compressor.compress)  # fmt: skip

HEADER = 7
MAX_RECORDS = 16
CIPHER_NAMES: tuple[str, ...] = tuple(prot.CIPHERS)
MAC_NAMES: tuple[str, ...] = tuple(prot.MACS)
MODE_ROUND_TRIP, MODE_SEALED_PACKETS, MODE_RAW, MODE_PADDING = 0, 1, 2, 3
FLAG_ZLIB, FLAG_SERVER_READER, FLAG_NO_VERSION = 0x10, 0x20, 0x40


@functools.cache
def _key(n: int, salt: int) -> bytes:
    return bytes((i * 7 + salt) & 0xFF for i in range(n))


def protection(cipher_index: int, mac_index: int) -> tuple[prot.CipherSpec, prot.MacSpec | None]:
    cipher = prot.CIPHERS[CIPHER_NAMES[cipher_index % len(CIPHER_NAMES)]]
    mac = None if cipher.aead else prot.MACS[MAC_NAMES[mac_index % len(MAC_NAMES)]]
    return cipher, mac


# Protections whose sealer and opener carry nothing from one packet to the next (ChaCha20
# rewinds per packet, HMAC keys are copied per packet, "none" has no state): one pair per
# (cipher, MAC) serves every input. CTR and CBC streams and GCM's invocation counter do carry
# state, so those get a fresh pair per input. Building a pair costs more than a short input.
_STATELESS_MODES = frozenset({"chacha20-poly1305", "none"})
_PAIRS: dict[tuple[str, str], tuple[prot.Sealer, prot.Opener]] = {}


def _new_pair(cipher: prot.CipherSpec, mac: prot.MacSpec | None) -> tuple[prot.Sealer, prot.Opener]:
    if cipher.name == "none" and (mac is None or mac.name == "none"):
        return prot.null_sealer(), prot.null_opener()
    key, iv = _key(cipher.key_size, 1), _key(cipher.iv_size, 2)
    mac_key = _key(mac.key_size if mac else 0, 3)
    return (prot.make_sealer(cipher, mac, key, iv, mac_key), prot.make_opener(cipher, mac, key, iv, mac_key))


def _pair(cipher: prot.CipherSpec, mac: prot.MacSpec | None) -> tuple[prot.Sealer, prot.Opener]:
    """A sealer and opener for one direction with fixed keys, in their initial state."""
    if cipher.mode not in _STATELESS_MODES:
        return _new_pair(cipher, mac)
    key = (cipher.name, mac.name if mac else "")
    pair = _PAIRS.get(key)
    if pair is None:
        pair = _PAIRS[key] = _new_pair(cipher, mac)
    return pair


class _Capture:
    """The writer's tamper_packet seam, used read-only: remembers each plaintext packet's fields."""

    def __init__(self) -> None:
        self.fields: list[tuple[int, int]] = []  # (packet_length, padding_length)

    def __call__(self, packet: bytearray) -> bytearray:
        self.fields.append((int.from_bytes(packet[:4], "big"), packet[4]))
        return packet


def _padding_ok(sealer: prot.Sealer, packet_length: int, padding: int) -> bool:
    block = max(sealer.block_size, 8)
    aligned = packet_length + 4 - sealer.aad_len
    return MIN_PADDING <= padding < packet_length and aligned % block == 0


def fuzz_one_input(data: bytes) -> None:
    if len(data) < HEADER:
        return
    cipher, mac = protection(data[0], data[1])
    flags = data[2]
    sizes = data[3:7]
    records = split_records(data[HEADER:], MAX_RECORDS)
    feed = flags & 3
    if feed == 3:
        feed = FEED_CHUNKS
    mode = (flags >> 2) & 3
    sealer, opener = _pair(cipher, mac)
    writer = PacketWriter(sealer, bytes)  # zero padding: bytes(n)
    reader = PacketReader(opener)
    if flags & FLAG_ZLIB:
        # The writer is the oracle's tooling: any valid deflate stream serves, and a small
        # memLevel makes the stream ~80 times cheaper to set up (see Compressor).
        writer.compressor = comp.Compressor(mem_level=1)
        reader.decompressor = comp.Decompressor()

    version_area = b""
    if not flags & FLAG_NO_VERSION and records:
        version_area, records = records[0], records[1:]

    # Build the wire stream and what the reader must return.
    expected: list[bytes] | None = None
    fail_at: int | None = None  # index of the packet that must raise DecodeError (padding mode)
    if mode in (MODE_ROUND_TRIP, MODE_PADDING):
        expected = []
        capture = _Capture()
        writer.tamper_packet = capture
        parts = []
        for record in records:
            if mode == MODE_PADDING:
                if not record:
                    continue
                padding, payload = record[0], record[1:]
                parts.append(writer.frame(payload, padding))
                length, pad = capture.fields[-1]
                if not _padding_ok(sealer, length, pad):
                    fail_at = len(expected)
                    break
            else:
                payload = record
                parts.append(writer.frame(payload))
            expected.append(payload)
        wire = b"".join(parts)
    elif mode == MODE_SEALED_PACKETS:
        wire = b"".join(sealer.seal(seq, record) for seq, record in enumerate(records))
    else:
        wire = b"".join(records)

    stream = version_area + wire
    versions = None if flags & FLAG_NO_VERSION else VersionReader(allow_pre_banner=not flags & FLAG_SERVER_READER)
    got: list[bytes] = []
    fed = 0
    consumed_version = 0
    try:
        for chunk in chunked(stream, feed, sizes):
            if versions is not None and versions.result is None:
                rest = versions.feed(chunk)
                if versions.result is None:
                    consumed_version += len(chunk)
                    continue
                consumed_version += len(chunk) - len(rest)
                chunk = rest
            fed += len(chunk)
            reader.feed(chunk)
            while (payload := reader.next_payload()) is not None:
                got.append(payload)
        if reader.buffered() > fed:
            raise OracleViolation(f"reader holds {reader.buffered()} bytes after being fed {fed}")
    except DecodeError as exc:
        if expected is not None and consumed_version == len(version_area) and fail_at is None:
            raise OracleViolation(f"a correctly framed stream raised {exc!r} after {len(got)} payloads") from exc
        if fail_at is not None and consumed_version == len(version_area) and len(got) != fail_at:
            raise OracleViolation(f"bad padding at packet {fail_at} detected at packet {len(got)}") from exc
        return
    except RemoteProtocolError as exc:
        if expected is not None and consumed_version == len(version_area) and versions_ok(versions):
            raise OracleViolation(f"a correctly framed stream raised {exc!r}") from exc
        return
    if expected is None or consumed_version != len(version_area) or not versions_ok(versions):
        return  # garbage in, no error yet: fine (more bytes may be needed)
    if fail_at is not None:
        # A CBC sealer holds back a misaligned tail, so the bad packet may not have reached the
        # reader at all; what must never happen is the reader returning it.
        if len(got) > fail_at:
            raise OracleViolation(f"packet {fail_at} has an invalid padding field but the reader returned it")
        return
    if got != expected:
        raise OracleViolation(f"round trip under {cipher.name}/{mac.name if mac else '-'}: "
                              f"sent {len(expected)} payloads, got {len(got)} back, or different bytes")  # fmt: skip


def versions_ok(versions: VersionReader | None) -> bool:
    return versions is None or versions.result is not None


def main() -> None:
    from harness.fuzz.common import run

    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
