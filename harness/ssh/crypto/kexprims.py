"""Key-agreement primitives for the kex methods (X25519, NIST ECDH, ML-KEM-768, hashes).

Why here: ``harness.ssh.crypto`` is the only package that imports ``cryptography``; kex/ asks
these functions for key pairs and shared secrets and never touches the library itself. Private
scalars come from the caller's ``randbytes`` so a run can be replayed byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness.ssh.errors import KexError

RandBytes = Callable[[int], bytes]

HASHES: dict[str, Callable[..., hashlib._Hash]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def hash_function(name: str) -> Callable[..., hashlib._Hash]:
    return HASHES[name]


# -- X25519 (RFC 7748 / RFC 8731) -------------------------------------------------------------


def x25519_private(secret: bytes) -> tuple[x25519.X25519PrivateKey, bytes]:
    """The private key for a 32-byte secret and its raw public value.

    This and the other module-level functions below are the only places a kex party calls
    ``cryptography``; each is a pure function of its arguments, so a fuzzing campaign can
    memoize them (:mod:`harness.fuzz.recorded`) without changing any result.
    """
    private = x25519.X25519PrivateKey.from_private_bytes(secret)
    return private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def x25519_exchange(private: x25519.X25519PrivateKey, peer_public: bytes) -> bytes:
    """The X25519 output; ValueError for an all-zero result (the library checks it)."""
    return private.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))


class X25519Party:
    """One side's ephemeral X25519 key."""

    def __init__(self, randbytes: RandBytes) -> None:
        # The raw 32-byte secret is kept for key logs (Wireshark up to 4.0 reads this form).
        self.private_bytes = randbytes(32)
        self._private, self.public = x25519_private(self.private_bytes)

    def shared_secret(self, peer_public: bytes) -> bytes:
        if len(peer_public) != 32:
            raise KexError(f"X25519 public value must be 32 bytes, got {len(peer_public)}")
        try:
            secret = x25519_exchange(self._private, peer_public)
        except ValueError as exc:  # all-zero output (small-order point), RFC 7748 section 6.1
            raise KexError(f"X25519 exchange failed: {exc}") from exc
        if secret == bytes(32):
            raise KexError("X25519 shared secret is all zero (peer sent a low-order point)")
        return secret


# -- NIST curves (RFC 5656) -------------------------------------------------------------------

CURVES: dict[str, type[ec.EllipticCurve]] = {
    "nistp256": ec.SECP256R1,
    "nistp384": ec.SECP384R1,
    "nistp521": ec.SECP521R1,
}
_CURVE_ORDER = {
    "nistp256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "nistp384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
    # 2^521 minus the published low part (FIPS 186-4 D.1.2.5); tests check it bounds valid scalars.
    "nistp521": 2**521 - 0x5AE79787C40D069948033FEB708F65A2FC44A36477663B851449048E16EC79BF7,
}


def ecdh_private(curve: str, scalar: int) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """The private key for ``scalar`` on a NIST curve and its uncompressed public point."""
    private = ec.derive_private_key(scalar, CURVES[curve]())
    return private, private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def ecdh_exchange(curve: str, private: ec.EllipticCurvePrivateKey, peer_public: bytes) -> bytes:
    """The shared x coordinate; ValueError for a point not on the curve."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(CURVES[curve](), peer_public)
    return private.exchange(ec.ECDH(), peer)


class EcdhParty:
    """One side's ephemeral ECDH key on a NIST curve; the scalar comes from ``randbytes``."""

    def __init__(self, curve: str, randbytes: RandBytes) -> None:
        order = _CURVE_ORDER[curve]
        nbytes = (order.bit_length() + 7) // 8 + 8  # 64 extra bits make the reduction bias negligible
        scalar = int.from_bytes(randbytes(nbytes), "big") % (order - 1) + 1
        self._curve = curve
        self._private, self.public = ecdh_private(curve, scalar)

    def shared_secret(self, peer_public: bytes) -> bytes:
        try:
            return ecdh_exchange(self._curve, self._private, peer_public)
        except ValueError as exc:
            raise KexError(f"invalid ECDH public point from peer: {exc}") from exc


# -- ML-KEM-768 (FIPS 203) --------------------------------------------------------------------

MLKEM768_PUBLIC_SIZE = 1184
MLKEM768_CIPHERTEXT_SIZE = 1088


class MlKem768Party:
    """Client side of ML-KEM-768: a key pair whose public key goes to the server.

    ML-KEM key generation takes a 64-byte seed (d || z), so it is deterministic given
    ``randbytes``.
    """

    def __init__(self, randbytes: RandBytes) -> None:
        self._private = mlkem.MLKEM768PrivateKey.from_seed_bytes(randbytes(64))
        self.public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def decapsulate(self, ciphertext: bytes) -> bytes:
        if len(ciphertext) != MLKEM768_CIPHERTEXT_SIZE:
            raise KexError(f"ML-KEM-768 ciphertext must be {MLKEM768_CIPHERTEXT_SIZE} bytes")
        return self._private.decapsulate(ciphertext)


def mlkem768_encapsulate(public: bytes) -> tuple[bytes, bytes]:
    """Server side: (ciphertext, shared secret). Randomness is the library's (FIPS 203 needs it)."""
    if len(public) != MLKEM768_PUBLIC_SIZE:
        raise KexError(f"ML-KEM-768 public key must be {MLKEM768_PUBLIC_SIZE} bytes")
    try:
        key = mlkem.MLKEM768PublicKey.from_public_bytes(public)
    except ValueError as exc:
        raise KexError(f"invalid ML-KEM-768 public key: {exc}") from exc
    shared, ciphertext = key.encapsulate()
    return ciphertext, shared
