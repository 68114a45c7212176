"""The connection target's fake peer: packets sealed the way the connection expects them.

The fuzzed packets come from here, sealed with exactly the protection (and compression) the
connection will use to open them (the keys it derived, ``KexEngine.last_incoming``), so they
reach the phase gate and the handler tables instead of dying on a MAC check. This is the
oracle's tooling (not instrumented); the connection's own sealing and every opening stay real.
"""

from __future__ import annotations

from typing import Any

from harness.ssh.connection import Connection
from harness.ssh.crypto import aead
from harness.ssh.crypto import compression as comp
from harness.ssh.crypto import protection as prot
from harness.ssh.packet.framing import IDENTITY, PacketWriter

# The fake peer's wire bytes for (sealer, sequence number, payload), when the sealer carries
# no state between packets and nothing compresses: a mutated input shares most of its packets
# with the input it came from, and sealing them again (five cryptography calls and the framing
# per packet) was a tenth of this target's time for bytes already known. Sealers built for new
# keys are shared the same way, so packets after a fuzzed key exchange that derived the same
# keys hit the cache too. Both are the oracle's tooling; the connection's own sealing and every
# opening stay real.
_FRAMES: dict[tuple[Any, int, bytes], bytes] = {}
_FRAMES_MAX = 1 << 15
_SEALERS: dict[tuple[Any, ...], Any] = {}
_SEALERS_MAX = 256
# Sealers whose output depends only on (seq, packet): ChaCha20-Poly1305 (rewound per packet)
# and the plaintext one before the first NEWKEYS.
_STATELESS_SEALERS = (aead.ChachaPolySealer, prot._PlainSealer)


def _peer_sealer(cipher: Any, mac: Any, key: bytes, iv: bytes, mac_key: bytes) -> Any:
    """The sealer for new keys: one object per key set when it is stateless (ChaCha20)."""
    if cipher.mode != "chacha20-poly1305":
        return prot.make_sealer(cipher, mac, key, iv, mac_key)
    ident = (cipher.name, key)
    sealer = _SEALERS.get(ident)
    if sealer is None:
        if len(_SEALERS) >= _SEALERS_MAX:
            _SEALERS.clear()
        sealer = _SEALERS[ident] = prot.make_sealer(cipher, mac, key, iv, mac_key)
    return sealer


class FakePeer:
    """Frames packets with the protection (and compression) the connection currently expects."""

    def __init__(self, conn: Connection, sealer: Any, compressor: Any) -> None:
        self.conn = conn
        self.writer = PacketWriter(sealer, bytes)  # zero padding: bytes(n)
        self.writer.compressor = compressor
        self._opener = conn.reader.opener
        self._decompressor = conn.reader.decompressor

    def _sync(self) -> None:
        reader = self.conn.reader
        if reader.opener is not self._opener:
            self._opener = reader.opener
            cipher, mac, keys = self.conn.kex.last_incoming  # type: ignore[misc]
            self.writer.sealer = _peer_sealer(cipher, mac, keys.key, keys.iv, keys.mac_key)
        if reader.decompressor is not self._decompressor:
            self._decompressor = reader.decompressor
            deflate = isinstance(reader.decompressor, comp.Decompressor)
            self.writer.compressor = comp.Compressor() if deflate else IDENTITY

    def frame(self, payload: bytes, ahead: int = 0) -> bytes:
        """One packet at the connection's next incoming sequence number (+ ``ahead`` in a batch)."""
        self._sync()
        writer = self.writer
        seq = writer.seq = (self.conn.reader.seq + ahead) & 0xFFFFFFFF
        sealer = writer.sealer
        if writer.compressor is not IDENTITY or type(sealer) not in _STATELESS_SEALERS:
            return writer.frame(payload)
        key = (sealer, seq, payload)
        wire = _FRAMES.get(key)
        if wire is None:
            if len(_FRAMES) >= _FRAMES_MAX:
                _FRAMES.clear()
            wire = _FRAMES[key] = writer.frame(payload)
        return wire

    def seal(self, packet: bytes, ahead: int = 0) -> bytes:
        """A whole plaintext packet (length, padding length, payload, padding) sealed as it is."""
        self._sync()
        return self.writer.sealer.seal((self.conn.reader.seq + ahead) & 0xFFFFFFFF, packet)
