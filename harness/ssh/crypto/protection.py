"""Binary packet protection (RFC 4253 section 6): cipher and MAC specs, per-direction sealers/openers.

Why sealer/opener objects: the cipher and MAC of each direction are chosen once per key
exchange, so every decision about the mode (classic encrypt-and-MAC, encrypt-then-MAC, GCM,
ChaCha20-Poly1305) is made here, in :func:`make_sealer` / :func:`make_opener`. The packet layer
only reads ``block_size``, ``aad_len``/``header_len`` and ``mac_len`` and calls ``seal`` or
``packet_length`` + ``open``; it never branches on the cipher kind.

Why the state lives inside: CTR and CBC are one continuous stream per direction (RFC 4344 and
RFC 4253 chain across packets) and GCM carries an invocation counter, so each object holds one
persistent ``cryptography`` context and is only valid for one direction of one key exchange.

Hot path: a persistent encryptor/decryptor per direction, a keyed HMAC that is ``copy()``-ed per
packet (cryptography's HMAC copy measured faster than :mod:`hmac` on both 32 KiB and small
packets), memoryview slices instead of copies, and exactly one join per sealed packet.

Nothing here does I/O or reads a clock or a random source: padding arrives from the caller.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from hmac import compare_digest
from typing import Any, Protocol

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from harness.ssh.crypto.aead import ChachaPolyOpener, ChachaPolySealer, GcmOpener, GcmSealer
from harness.ssh.crypto.umac import Umac, UmacKeyed
from harness.ssh.errors import DecodeError, MacError

Buffer = bytes | bytearray | memoryview

_U32 = struct.Struct(">I")
# Before the first NEWKEYS (and for the "none" cipher) packets align to 8 bytes (RFC 4253 6).
_PLAIN_BLOCK = 8


# -- specs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CipherSpec:
    """One SSH encryption algorithm as data.

    ``block_size`` is the padding alignment; ``aead`` means integrity is built in and the
    negotiated MAC is ignored (``tag_size`` bytes follow the packet instead). ``algorithm`` and
    ``mode`` (keyword-only, required) name the primitive so the factories can build it from
    tables rather than from the algorithm's wire name.
    """

    name: str
    key_size: int
    iv_size: int
    block_size: int
    aead: bool
    tag_size: int
    algorithm: str = field(kw_only=True)  # "aes", "3des", "chacha20", "none"
    mode: str = field(kw_only=True)  # "ctr", "cbc", "gcm", "chacha20-poly1305", "none"


@dataclass(frozen=True)
class MacSpec:
    """One SSH MAC algorithm: ``digest_size`` is what goes on the wire (12 for the -96 forms)."""

    name: str
    key_size: int
    digest_size: int
    etm: bool
    hash_name: str


def _cipher(name: str, key: int, iv: int, block: int, algorithm: str, mode: str) -> CipherSpec:
    aead = mode in ("gcm", "chacha20-poly1305")
    return CipherSpec(name, key, iv, block, aead, 16 if aead else 0, algorithm=algorithm, mode=mode)


# Sizes from OpenSSH's cipher.c table. Order: OpenSSH's current default preference (myproposal.h
# KEX_SERVER_ENCRYPT), then the legacy CBC ciphers, then "none".
CIPHERS: dict[str, CipherSpec] = {
    spec.name: spec
    for spec in (
        _cipher("chacha20-poly1305@openssh.com", 64, 0, 8, "chacha20", "chacha20-poly1305"),
        _cipher("aes128-gcm@openssh.com", 16, 12, 16, "aes", "gcm"),
        _cipher("aes256-gcm@openssh.com", 32, 12, 16, "aes", "gcm"),
        _cipher("aes128-ctr", 16, 16, 16, "aes", "ctr"),
        _cipher("aes192-ctr", 24, 16, 16, "aes", "ctr"),
        _cipher("aes256-ctr", 32, 16, 16, "aes", "ctr"),
        _cipher("aes128-cbc", 16, 16, 16, "aes", "cbc"),
        _cipher("aes192-cbc", 24, 16, 16, "aes", "cbc"),
        _cipher("aes256-cbc", 32, 16, 16, "aes", "cbc"),
        _cipher("3des-cbc", 24, 8, 8, "3des", "cbc"),
        _cipher("none", 0, 0, _PLAIN_BLOCK, "none", "none"),
    )
}

# Key sizes are the hash output sizes (RFC 4253 6.4); -96 variants truncate the digest to 12.
_MAC_BASES = (
    ("hmac-sha2-256", 32, 32, "sha256"),
    ("hmac-sha2-512", 64, 64, "sha512"),
    ("hmac-sha1", 20, 20, "sha1"),
    ("hmac-sha1-96", 20, 12, "sha1"),
    ("hmac-md5", 16, 16, "md5"),
    ("hmac-md5-96", 16, 12, "md5"),
)
_ETM_SUFFIX = "-etm@openssh.com"
# Order: OpenSSH's default preference (etm first) minus umac, then legacy ones, then umac (pure
# Python here, so our own preference puts it last; sshd offers it, so our server does), "none".
_MAC_ORDER = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
    "hmac-sha1-96-etm@openssh.com",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "hmac-sha1-96",
    "hmac-md5",
    "hmac-md5-96",
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "none",
)
_ALL_MACS = {
    spec.name: spec
    for base, key, digest, hash_name in _MAC_BASES
    for spec in (
        MacSpec(base, key, digest, False, hash_name),
        MacSpec(base + _ETM_SUFFIX, key, digest, True, hash_name),
    )
}
# UMAC (RFC 4418, crypto/umac.py): a 16-byte key (AES-128 inside), tags of 8 or 16 bytes.
_UMAC_TAG_SIZES = {"umac-64": 8, "umac-128": 16}
for _base, _tag in _UMAC_TAG_SIZES.items():
    _ALL_MACS[f"{_base}@openssh.com"] = MacSpec(f"{_base}@openssh.com", 16, _tag, False, _base)
    _ALL_MACS[_base + _ETM_SUFFIX] = MacSpec(_base + _ETM_SUFFIX, 16, _tag, True, _base)
_ALL_MACS["none"] = MacSpec("none", 0, 0, False, "none")
MACS: dict[str, MacSpec] = {name: _ALL_MACS[name] for name in _MAC_ORDER}

# Offered by default: OpenSSH's modern defaults. CBC, 3DES, MD5 and the -96 truncations stay
# registered (interop tests need them) but are only used when configured explicitly.
DEFAULT_CIPHERS: tuple[str, ...] = (
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)
DEFAULT_MACS: tuple[str, ...] = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
)
# Ciphers whose negotiation skips the MAC (kex/negotiate.py asks for this set).
AEAD_CIPHERS: frozenset[str] = frozenset(name for name, spec in CIPHERS.items() if spec.aead)


# -- the interface the packet layer sees ------------------------------------------------------


class Sealer(Protocol):
    """Protects outgoing packets of one direction."""

    block_size: int  # padding alignment the packet layer must use
    aad_len: int  # 4 when packet_length is outside the aligned region (etm, gcm, chacha)
    mac_len: int  # bytes appended after the packet (MAC or tag)

    def seal(self, seq: int, packet: Buffer) -> bytes:
        """Wire bytes for a full, already padded plaintext packet (length field included)."""
        ...


class Opener(Protocol):
    """Checks and decrypts incoming packets of one direction."""

    block_size: int
    header_len: int  # wire bytes needed to learn packet_length
    mac_len: int

    def packet_length(self, seq: int, header: Buffer) -> int:
        """Decode (decrypting if needed) the packet_length field from ``header_len`` bytes."""
        ...

    def open(self, seq: int, wire: memoryview) -> bytes:
        """Verify and decrypt ``4 + packet_length + mac_len`` bytes; return from padding_length on."""
        ...


# -- building blocks: stream contexts and keyed MACs -----------------------------------------


class _StreamContext(Protocol):
    def update(self, data: Buffer) -> bytes: ...


class _KeyedMac(Protocol):
    def copy(self) -> _KeyedMac: ...
    def update(self, data: Buffer) -> None: ...
    def finalize(self) -> bytes: ...


class _NullContext:
    """The "none" cipher: plaintext passes through (a copy, so no buffer view escapes)."""

    def update(self, data: Buffer) -> bytes:
        return bytes(data)


class _NullMac:
    """No MAC: an empty digest, shaped like a keyed HMAC so the packet path has no branch."""

    def copy(self) -> _NullMac:
        return self

    def update(self, data: Buffer) -> None:
        return None

    def finalize(self) -> bytes:
        return b""


_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {"aes": algorithms.AES, "3des": TripleDES}
_MODES: dict[str, Callable[[bytes], Any]] = {"ctr": modes.CTR, "cbc": modes.CBC}
# AEAD modes: (sealer, opener) classes, each built from (key, iv).
_AEAD_KINDS: dict[str, tuple[Callable[[bytes, bytes], Sealer], Callable[[bytes, bytes], Opener]]] = {
    "gcm": (GcmSealer, GcmOpener),
    "chacha20-poly1305": (ChachaPolySealer, ChachaPolyOpener),
}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha512": hashes.SHA512,
    "sha1": hashes.SHA1,
    "md5": hashes.MD5,
}


def _contexts(spec: CipherSpec, key: bytes, iv: bytes) -> tuple[_StreamContext, _StreamContext]:
    """A persistent (encryptor, decryptor) pair; only one of them is used per direction."""
    if spec.mode == "none":
        return _NullContext(), _NullContext()
    cipher = Cipher(_ALGORITHMS[spec.algorithm](key), _MODES[spec.mode](iv))
    return cipher.encryptor(), cipher.decryptor()


def _keyed_mac(spec: MacSpec | None, key: bytes) -> tuple[_KeyedMac, int]:
    if spec is None or spec.hash_name == "none":
        return _NullMac(), 0
    if spec.hash_name in _UMAC_TAG_SIZES:
        return UmacKeyed(Umac(key, spec.digest_size)), spec.digest_size
    return _hmac.HMAC(key, _HASHES[spec.hash_name]()), spec.digest_size


def _misaligned(length: int, region: int, block_size: int) -> DecodeError:
    return DecodeError(
        f"packet_length {length}: the encrypted region of {region} bytes is not a multiple of the "
        f"cipher block size {block_size} (RFC 4253 section 6)"
    )


class _MacKeyed:
    """What the four non-AEAD sealers/openers share: a stream context, a keyed MAC, and the tag.

    The tag is always HMAC(key, uint32 seq || parts...) truncated to ``mac_len``; the modes
    differ only in which bytes are the parts and in what gets encrypted.
    """

    def __init__(self, ctx: _StreamContext, block_size: int, mac: _KeyedMac, mac_len: int) -> None:
        self._ctx = ctx
        self._mac = mac
        self.block_size = block_size
        self.mac_len = mac_len

    def _tag(self, seq: int, *parts: Buffer) -> bytes:
        h = self._mac.copy()
        h.update(_U32.pack(seq))
        for part in parts:
            h.update(part)
        return h.finalize()[: self.mac_len]


# -- classic encrypt-and-MAC (RFC 4253 6.3/6.4) and the plaintext phase -------------------------


class _EamSealer(_MacKeyed):
    """MAC over seq || plaintext packet, then the whole packet (length included) is encrypted."""

    aad_len = 0

    def seal(self, seq: int, packet: Buffer) -> bytes:
        return self._ctx.update(packet) + self._tag(seq, packet)


class _EamOpener(_MacKeyed):
    """Decrypts the first block to learn the length, then the rest; MAC over the plaintext."""

    def __init__(self, ctx: _StreamContext, block_size: int, mac: _KeyedMac, mac_len: int) -> None:
        super().__init__(ctx, block_size, mac, mac_len)
        self._first = b""
        self.header_len = block_size

    def packet_length(self, seq: int, header: Buffer) -> int:
        first = self._ctx.update(header)
        self._first = first
        length: int = _U32.unpack_from(first)[0]
        # OpenSSH checks this right after decrypting the first block, before the MAC.
        if (length + 4) % self.block_size:
            raise _misaligned(length, length + 4, self.block_size)
        return length

    def open(self, seq: int, wire: memoryview) -> bytes:
        end = len(wire) - self.mac_len
        first = self._first
        rest = self._ctx.update(wire[self.block_size : end])
        if not compare_digest(self._tag(seq, first, rest), wire[end:]):
            raise MacError(f"MAC mismatch on packet {seq}")
        return first[4:] + rest


# -- encrypt-then-MAC (-etm@openssh.com, OpenSSH PROTOCOL 1.7) --------------------------------


class _EtmSealer(_MacKeyed):
    """The length stays in clear; the MAC covers seq || length || ciphertext."""

    aad_len = 4

    def seal(self, seq: int, packet: Buffer) -> bytes:
        view = memoryview(packet)
        header = bytes(view[:4])
        body = self._ctx.update(view[4:])
        return b"".join((header, body, self._tag(seq, header, body)))


class _EtmOpener(_MacKeyed):
    """Verifies the MAC over the ciphertext before decrypting anything."""

    header_len = 4

    def packet_length(self, seq: int, header: Buffer) -> int:
        length: int = _U32.unpack_from(header)[0]
        # OpenSSH (ssh_packet_read_poll2) checks alignment before the MAC in every mode.
        if length % self.block_size:
            raise _misaligned(length, length, self.block_size)
        return length

    def open(self, seq: int, wire: memoryview) -> bytes:
        end = len(wire) - self.mac_len
        if not compare_digest(self._tag(seq, wire[:end]), wire[end:]):
            raise MacError(f"MAC mismatch on packet {seq}")
        return self._ctx.update(wire[4:end])


# -- factories ---------------------------------------------------------------------------------


def _check_sizes(cipher: CipherSpec, mac: MacSpec | None, key: bytes, iv: bytes, mac_key: bytes) -> None:
    """Key material of the wrong size is our own bug (key derivation), caught before any packet."""
    if len(key) != cipher.key_size or len(iv) != cipher.iv_size:
        raise ValueError(
            f"{cipher.name} needs a {cipher.key_size}-byte key and {cipher.iv_size}-byte IV, "
            f"got {len(key)} and {len(iv)}"
        )
    if not cipher.aead and mac is not None and len(mac_key) != mac.key_size:
        raise ValueError(f"{mac.name} needs a {mac.key_size}-byte key, got {len(mac_key)}")


def make_sealer(cipher: CipherSpec, mac: MacSpec | None, key: bytes, iv: bytes, mac_key: bytes) -> Sealer:
    """The outgoing protection for one direction of one key exchange (MAC ignored for AEAD)."""
    _check_sizes(cipher, mac, key, iv, mac_key)
    if cipher.aead:
        return _AEAD_KINDS[cipher.mode][0](key, iv)
    encryptor, _ = _contexts(cipher, key, iv)
    keyed, mac_len = _keyed_mac(mac, mac_key)
    kind = _EtmSealer if mac is not None and mac.etm else _EamSealer
    return kind(encryptor, cipher.block_size, keyed, mac_len)


def make_opener(cipher: CipherSpec, mac: MacSpec | None, key: bytes, iv: bytes, mac_key: bytes) -> Opener:
    """The incoming protection for one direction of one key exchange (MAC ignored for AEAD)."""
    _check_sizes(cipher, mac, key, iv, mac_key)
    if cipher.aead:
        return _AEAD_KINDS[cipher.mode][1](key, iv)
    _, decryptor = _contexts(cipher, key, iv)
    keyed, mac_len = _keyed_mac(mac, mac_key)
    kind = _EtmOpener if mac is not None and mac.etm else _EamOpener
    return kind(decryptor, cipher.block_size, keyed, mac_len)


class _PlainSealer:
    """Before the first NEWKEYS: the packet goes out as it is.

    The same bytes an encrypt-and-MAC sealer with the null cipher and no MAC gives, without
    its copy, empty MAC and join: every version exchange and first KEXINIT goes through here.
    """

    block_size = _PLAIN_BLOCK
    aad_len = 0
    mac_len = 0

    def seal(self, seq: int, packet: Buffer) -> bytes:
        return bytes(packet)


class _PlainOpener:
    """Before the first NEWKEYS: no decryption, no MAC, 8-byte alignment (checked as OpenSSH does)."""

    block_size = _PLAIN_BLOCK
    header_len = _PLAIN_BLOCK
    mac_len = 0

    def packet_length(self, seq: int, header: Buffer) -> int:
        length: int = _U32.unpack_from(header)[0]
        if (length + 4) % _PLAIN_BLOCK:
            raise _misaligned(length, length + 4, _PLAIN_BLOCK)
        return length

    def open(self, seq: int, wire: memoryview) -> bytes:
        return bytes(wire[4:])


def null_sealer() -> Sealer:
    """Before the first NEWKEYS: no encryption, no MAC, 8-byte alignment."""
    return _PlainSealer()


def null_opener() -> Opener:
    """Before the first NEWKEYS: no encryption, no MAC, 8-byte alignment (checked as OpenSSH does)."""
    return _PlainOpener()
