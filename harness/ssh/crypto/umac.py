"""UMAC (RFC 4418) as OpenSSH uses it: umac-64@openssh.com and umac-128@openssh.com (and -etm).

Why we have it: sshd offers the umac MACs by default and OpenSSH's client prefers
umac-64-etm@openssh.com whenever the cipher is not an AEAD, so a server that wants to accept
what sshd accepts needs them. OpenSSH keys UMAC with the 16-byte MAC key (AES-128 inside) and
uses the packet's sequence number, as a 64-bit big-endian integer, as the nonce; the tag covers
the same bytes an HMAC would, without the sequence number in front.

Pure Python: NH, the first-level hash, is the hot loop (one 32x32-bit product per 8 message
bytes and iteration): the word sums come from one big-integer addition over the whole message,
the products from C-level map/sum. About 2-6 ms per 32 KiB packet for UMAC-64 (twice that for
UMAC-128) on a loaded 2-core machine, fine for interop and tests but far from HMAC, which stays
our client's default (a client that prefers umac, as OpenSSH's does, gets it from our server).
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
_LANE_MASK = b"\xff\xff\xff\xff\0\0\0\0"  # keeps the low 32 bits of a 64-bit lane
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


def _lanes(words: tuple[int, ...]) -> int:
    """32-bit words as one integer with a 64-bit lane per word (room for the carry of a sum)."""
    return int.from_bytes(struct.pack(f"<{len(words)}Q", *words), "little")


def _nh_per_chunk(message_lanes: int, key_lanes: int, count: int) -> list[int]:
    """NH (RFC 4418 5.2.2) of every 1 KiB chunk at once, ``count`` words in all.

    Every (message word + key word) mod 2^32 comes from one big-integer addition and mask over
    all lanes, and the products from C-level map/sum, instead of a Python loop per word: NH is
    where UMAC spends its time. Word j pairs with word j+4 in every 8-word block.
    """
    sums = (message_lanes + key_lanes) & int.from_bytes(_LANE_MASK * count, "little")
    words = struct.unpack(f"<{count}Q", sums.to_bytes(8 * count, "little"))
    products = [list(map(mul, words[lane::8], words[lane + 4 :: 8])) for lane in range(4)]
    per_chunk = _L1_CHUNK // 32  # 8-word blocks per chunk
    return [sum(sum(p[i : i + per_chunk]) for p in products) & _M64 for i in range(0, count // 8, per_chunk)]


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
        l1_words = struct.unpack(f">{len(l1) // 4}I", l1)
        # Per iteration, the 256 key words NH uses (4 words further each time), as 64-bit lanes.
        self._l1_lanes = [struct.pack("<256Q", *l1_words[4 * i : 4 * i + 256]) for i in range(iters)]
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
        # zeropad(M_t, 32): the last chunk to a positive multiple of 32 bytes (an empty message
        # hashes 32 zero bytes); its length in bits is added to its NH, 8192 to every full one's.
        last_len = len(message) - (max(len(message) - 1, 0) // _L1_CHUNK) * _L1_CHUNK
        padded = message + bytes(32 if not message else -len(message) % 32)
        count = len(padded) // 4
        message_lanes = _lanes(struct.unpack(f"<{count}I", padded))
        chunks = -(-count // 256)
        out = []
        for it in range(self._iters):
            key_lanes = int.from_bytes((self._l1_lanes[it] * chunks)[: 8 * count], "little")
            l1 = _nh_per_chunk(message_lanes, key_lanes, count)
            l1 = [(h + _L1_CHUNK * 8) & _M64 for h in l1[:-1]] + [(l1[-1] + last_len * 8) & _M64]
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
