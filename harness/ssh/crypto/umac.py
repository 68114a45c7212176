"""UMAC (RFC 4418) as OpenSSH uses it: umac-64@openssh.com and umac-128@openssh.com (and -etm).

Why we have it: sshd offers the umac MACs by default and OpenSSH's client prefers
umac-64-etm@openssh.com whenever the cipher is not an AEAD, so a server that wants to accept
what sshd accepts needs them. OpenSSH keys UMAC with the 16-byte MAC key (AES-128 inside) and
uses the packet's sequence number, as a 64-bit big-endian integer, as the nonce; the tag covers
the same bytes an HMAC would, without the sequence number in front.

Pure Python: NH, the first-level hash, is the hot loop (one 32x32-bit product per 8 message
bytes and iteration), done with C-level map/sum over whole 1 KiB chunks. About a millisecond per
32 KiB packet for UMAC-64, fine for interop and tests; HMAC stays our client's default.
"""

from __future__ import annotations

import struct
from operator import mul

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_BLOCK = 16  # AES block size, RFC 4418's BLOCKLEN
_L1_CHUNK = 1024  # bytes per NH call (L1 key length)
_P36 = (1 << 36) - 5
_P64 = (1 << 64) - 59
_L2_KEY_MASK = 0x01FFFFFF01FFFFFF
_POLY64_MAXWORD = (1 << 64) - (1 << 32)  # words at or above this are split (RFC 4418 5.3)
# POLY with 64-bit words covers L1 output up to 2^17 bytes, i.e. messages up to 16 MiB; SSH
# packets are far smaller (256 KiB at most), so the 128-bit second stage is not implemented.
MAX_MESSAGE = (1 << 17) // 8 * _L1_CHUNK


def _aes_ecb(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.ECB())


def kdf(key: bytes, index: int, length: int) -> bytes:
    """RFC 4418 section 3.2: ``length`` bytes of AES_K(uint64 index || uint64 counter)."""
    blocks = (length + _BLOCK - 1) // _BLOCK
    enc = _aes_ecb(key).encryptor()
    data = b"".join(struct.pack(">QQ", index, i) for i in range(1, blocks + 1))
    return (enc.update(data) + enc.finalize())[:length]


def _nh(key_words: tuple[int, ...], offset: int, message_words: tuple[int, ...]) -> int:
    """NH (RFC 4418 5.2.2) with the key starting at word ``offset``; message words little-endian."""
    sums = [(m + k) & _M32 for m, k in zip(message_words, key_words[offset : offset + len(message_words)], strict=True)]
    total = 0
    for lane in range(4):  # word j pairs with word j+4 in every 8-word block
        total += sum(map(mul, sums[lane::8], sums[lane + 4 :: 8]))
    return total & _M64


def _poly64(key: int, words: list[int]) -> int:
    """POLY (RFC 4418 5.3) over 64-bit words, prime 2^64 - 59."""
    y = 1
    for m in words:
        if m >= _POLY64_MAXWORD:
            y = (key * y + _P64 - 1) % _P64
            y = (key * y + m - ((1 << 64) - _P64)) % _P64
        else:
            y = (key * y + m) % _P64
    return y


class Umac:
    """UMAC with a 16-byte key and an ``tag_size`` of 8 (UMAC-64) or 16 (UMAC-128) bytes."""

    def __init__(self, key: bytes, tag_size: int) -> None:
        if len(key) != 16 or tag_size not in (8, 16):
            raise ValueError(f"UMAC needs a 16-byte key and an 8- or 16-byte tag, not {len(key)} and {tag_size}")
        self.tag_size = tag_size
        iters = tag_size // 4
        self._iters = iters
        l1 = kdf(key, 1, _L1_CHUNK + (iters - 1) * 16)
        self._l1 = struct.unpack(f">{len(l1) // 4}I", l1)
        l2 = kdf(key, 2, iters * 24)
        self._l2 = [int.from_bytes(l2[24 * i : 24 * i + 8], "big") & _L2_KEY_MASK for i in range(iters)]
        l3a, l3b = kdf(key, 3, iters * 64), kdf(key, 4, iters * 4)
        self._l3 = [[int.from_bytes(l3a[64 * i + 8 * j : 64 * i + 8 * j + 8], "big") % _P36 for j in range(8)]
                    for i in range(iters)]  # fmt: skip
        self._l3_mask = [int.from_bytes(l3b[4 * i : 4 * i + 4], "big") for i in range(iters)]
        self._pad_cipher = _aes_ecb(kdf(key, 0, 16))

    def _uhash(self, message: bytes) -> bytes:
        if len(message) > MAX_MESSAGE:
            raise ValueError(f"UMAC here hashes at most {MAX_MESSAGE} bytes, not {len(message)}")
        chunks = [message[i : i + _L1_CHUNK] for i in range(0, len(message), _L1_CHUNK)] or [b""]
        last = chunks[-1]
        last_bits = len(last) * 8
        # zeropad(M_t, 32): to a positive multiple of 32 bytes (an empty message hashes 32 zeros).
        chunks[-1] = last + bytes(32 if not last else -len(last) % 32)
        words = [struct.unpack(f"<{len(c) // 4}I", c) for c in chunks]
        out = []
        for it in range(self._iters):
            l1 = [(_nh(self._l1, 4 * it, w) + _L1_CHUNK * 8) & _M64 for w in words[:-1]]
            l1.append((_nh(self._l1, 4 * it, words[-1]) + last_bits) & _M64)
            l2 = l1[0] if len(message) <= _L1_CHUNK else _poly64(self._l2[it], l1)  # as a 16-byte string
            # L3 (RFC 4418 5.4): the 16-byte L2 output as eight 16-bit words (the upper four are 0).
            y = sum(((l2 >> (16 * (7 - j))) & 0xFFFF) * k for j, k in enumerate(self._l3[it])) % _P36
            out.append(struct.pack(">I", (y & _M32) ^ self._l3_mask[it]))
        return b"".join(out)

    def _pad(self, nonce: bytes) -> bytes:
        """PDF (RFC 4418 4): AES of the nonce; UMAC-64 uses one half of the block, by its low bit."""
        if self.tag_size == 8:
            index = nonce[-1] & 1
            nonce = nonce[:-1] + bytes([nonce[-1] & 0xFE])
        else:
            index = 0
        enc = self._pad_cipher.encryptor()
        block = enc.update(nonce.ljust(_BLOCK, b"\0")) + enc.finalize()
        return block[index * self.tag_size : (index + 1) * self.tag_size]

    def tag(self, nonce: bytes, message: bytes) -> bytes:
        pad = self._pad(nonce)
        hashed = self._uhash(message)
        return (int.from_bytes(hashed, "big") ^ int.from_bytes(pad, "big")).to_bytes(self.tag_size, "big")


class UmacKeyed:
    """A UMAC shaped like the keyed HMAC that protection.py's sealers copy per packet.

    The sealers feed ``uint32 seq`` first, then the covered bytes; UMAC takes the sequence
    number as its nonce (OpenSSH: 64-bit big-endian) and MACs only the bytes after it.
    """

    def __init__(self, umac: Umac) -> None:
        self._umac = umac
        self._parts: list[bytes] = []

    def copy(self) -> UmacKeyed:
        return UmacKeyed(self._umac)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._parts.append(bytes(data))

    def finalize(self) -> bytes:
        joined = b"".join(self._parts)
        return self._umac.tag(bytes(4) + joined[:4], joined[4:])
