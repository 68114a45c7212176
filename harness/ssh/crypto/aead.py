"""The two AEAD packet protections: aes*-gcm@openssh.com and chacha20-poly1305@openssh.com.

Why a separate module: these are the only protections whose integrity is built into the cipher,
so the negotiated MAC is ignored and the packet_length field is handled specially (additional
data for GCM, a separately keyed stream for ChaCha20). :mod:`harness.ssh.crypto.protection`
chooses them from the spec once per key exchange; nothing here is picked per packet.

Both keep the packet_length field out of the aligned region (``aad_len = 4``): the padded
region is ``padding_length || payload || padding``, and that is what must be a multiple of the
block size (OpenSSH's ``need % block_size`` check in ``ssh_packet_read_poll2``).
"""

from __future__ import annotations

import struct
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.ciphers.algorithms import ChaCha20
from cryptography.hazmat.primitives.poly1305 import Poly1305

from harness.ssh.errors import DecodeError, MacError

Buffer = bytes | bytearray | memoryview

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_MASK64 = (1 << 64) - 1
# Both AEADs append a 16-byte tag (GCM per RFC 5647 section 7.3; Poly1305's output size).
TAG_SIZE = 16
# Length of the plaintext-visible (GCM) or separately encrypted (ChaCha20) packet_length field.
_LEN_FIELD = 4


def _check_aligned(length: int, block_size: int) -> int:
    """Reject a region that is not a whole number of blocks, as OpenSSH does before the tag."""
    if length % block_size:
        raise DecodeError(
            f"packet_length {length} is not a multiple of the cipher block size {block_size} (RFC 4253 section 6)"
        )
    return length


# -- aes128-gcm@openssh.com / aes256-gcm@openssh.com (RFC 5647 as OpenSSH implements it) -------


class _GcmBase:
    """Shared state of one GCM direction: the key and the 12-byte nonce = fixed || counter.

    RFC 5647 section 7.1: the 4-byte fixed field and the 8-byte invocation counter come from the
    derived IV; the counter is incremented (mod 2**64) after every packet. The counter lives
    here, so the sequence number passed in is not used: GCM's nonce is its own packet count.
    """

    block_size = 16
    aad_len = _LEN_FIELD
    header_len = _LEN_FIELD
    mac_len = TAG_SIZE

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._aead = AESGCM(key)
        self._fixed = bytes(iv[:4])
        self._counter = _U64.unpack(iv[4:12])[0]

    def _next_nonce(self) -> bytes:
        nonce = self._fixed + _U64.pack(self._counter)
        self._counter = (self._counter + 1) & _MASK64
        return nonce


class GcmSealer(_GcmBase):
    """Outgoing GCM: the plaintext packet_length is the additional authenticated data."""

    def seal(self, seq: int, packet: Buffer) -> bytes:
        view = memoryview(packet)
        header = bytes(view[:_LEN_FIELD])
        return header + self._aead.encrypt(self._next_nonce(), view[_LEN_FIELD:], header)


class GcmOpener(_GcmBase):
    """Incoming GCM: the length is in clear; one decrypt call verifies the tag and decrypts."""

    def packet_length(self, seq: int, header: Buffer) -> int:
        return _check_aligned(_U32.unpack_from(header)[0], self.block_size)

    def open(self, seq: int, wire: memoryview) -> bytes:
        nonce = self._next_nonce()
        try:
            return self._aead.decrypt(nonce, wire[_LEN_FIELD:], wire[:_LEN_FIELD])
        except InvalidTag:
            raise MacError(f"AES-GCM tag mismatch on packet {seq}") from None


# -- chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305) ------------------------

# cryptography's ChaCha20 takes a 16-byte "nonce" that is the whole counter||nonce input block:
# with the original (DJB) layout that is an 8-byte little-endian block counter followed by the
# 8-byte big-endian sequence number. Block 0 of the main key yields the Poly1305 key; the payload
# is encrypted from block 1, which is where the stream stands after one 64-byte block.
_COUNTER0 = bytes(8)
_CHACHA_BLOCK = bytes(64)
_POLY_KEY_LEN = 32


def chacha_streams(key: bytes) -> tuple[Any, Any]:
    """The (main, length) ChaCha20 contexts for a 64-byte chacha20-poly1305 key.

    Every use rewinds a context (``reset_nonce``) before reading from it, within one call, so
    no state passes from one packet to the next: a fuzzing campaign shares one pair between
    all objects holding the same key (:mod:`harness.fuzz.recorded` memoizes this function).
    """
    main = Cipher(ChaCha20(key[:32], bytes(16)), mode=None).encryptor()
    return main, Cipher(ChaCha20(key[32:64], bytes(16)), mode=None).encryptor()


class _ChachaBase:
    """Two ChaCha20 contexts rewound per packet with ``reset_nonce`` (no per-packet setup).

    The 64-byte key is K_2 (first half: payload and Poly1305 key) || K_1 (second half: the
    4-byte length only), so the length can be decrypted before the rest of the packet arrives.
    """

    block_size = 8  # OpenSSH's cipher table: block size 8, so padding aligns to 8
    aad_len = _LEN_FIELD
    header_len = _LEN_FIELD
    mac_len = TAG_SIZE

    def __init__(self, key: bytes, iv: bytes = b"") -> None:
        # ``iv`` is unused (OpenSSH derives none for this cipher); kept for a uniform factory.
        self._main, self._length = chacha_streams(key)

    def _start(self, seq: int) -> bytes:
        """Rewind the main stream to block 0 for ``seq`` and return the Poly1305 key."""
        self._main.reset_nonce(_COUNTER0 + _U64.pack(seq))
        return self._main.update(_CHACHA_BLOCK)[:_POLY_KEY_LEN]

    def _crypt_length(self, seq: int, data: Buffer) -> bytes:
        self._length.reset_nonce(_COUNTER0 + _U64.pack(seq))
        return self._length.update(data)


class ChachaPolySealer(_ChachaBase):
    """Outgoing chacha20-poly1305: the tag covers the encrypted length and the ciphertext."""

    # Up to this many bytes the tag is computed in one call over a joined copy; above it, the
    # copy costs more than the three calls of an incremental Poly1305 save.
    _ONE_SHOT_TAG = 1024

    def seal(self, seq: int, packet: Buffer) -> bytes:
        # _start/_crypt_length inlined: this runs once per packet sent, and both need the nonce.
        view = memoryview(packet)
        nonce = _COUNTER0 + _U64.pack(seq)
        length = self._length
        length.reset_nonce(nonce)
        enc_len = length.update(view[:_LEN_FIELD])
        main = self._main
        main.reset_nonce(nonce)
        poly_key = main.update(_CHACHA_BLOCK)[:_POLY_KEY_LEN]
        body = main.update(view[_LEN_FIELD:])
        if len(body) <= self._ONE_SHOT_TAG:
            sealed = enc_len + body
            return sealed + Poly1305.generate_tag(poly_key, sealed)
        poly = Poly1305(poly_key)
        poly.update(enc_len)
        poly.update(body)
        return b"".join((enc_len, body, poly.finalize()))


class ChachaPolyOpener(_ChachaBase):
    """Incoming chacha20-poly1305: decrypt the length early, verify the tag before decrypting."""

    def packet_length(self, seq: int, header: Buffer) -> int:
        plain = self._crypt_length(seq, header)  # header_len bytes: exactly the length field
        return _check_aligned(_U32.unpack(plain)[0], self.block_size)

    def open(self, seq: int, wire: memoryview) -> bytes:
        end = len(wire) - TAG_SIZE
        poly_key = self._start(seq)
        try:
            Poly1305.verify_tag(poly_key, wire[:end], bytes(wire[end:]))
        except InvalidSignature:
            raise MacError(f"Poly1305 tag mismatch on packet {seq}") from None
        return self._main.update(wire[_LEN_FIELD:end])
