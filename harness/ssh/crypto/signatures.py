"""Signature primitives on ``cryptography`` objects, behind small SSH-shaped classes.

Why this module exists: ``harness.ssh.crypto`` is the only package that imports ``cryptography``.
``harness.ssh.keys`` owns the SSH encodings (blobs, signature blobs, key files' armour) and asks
this module only for the raw operations: build a verifier from public numbers, verify raw
signature values, load / generate / serialise a private key, and sign. Nothing here knows the SSH
wire format beyond what the primitive needs (DSA's r and s, RSA's padding and hash).

Randomness: Ed25519 signatures are deterministic; ECDSA and DSA nonces are drawn by OpenSSL
inside the library. That is not the harness's random source, which never reaches this module,
so a replay stays byte-exact for everything the harness itself chooses. Key generation can
take the secret from the caller (``seed`` / ``scalar``) for reproducible Ed25519 and ECDSA keys.
"""

from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.utils import CryptographyDeprecationWarning

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

# SSH curve identifier (RFC 5656 section 10.1) -> curve class and the hash its signatures use.
CURVES: dict[str, tuple[type[ec.EllipticCurve], str]] = {
    "nistp256": (ec.SECP256R1, "sha256"),
    "nistp384": (ec.SECP384R1, "sha384"),
    "nistp521": (ec.SECP521R1, "sha512"),
}


def _hash(name: str) -> hashes.HashAlgorithm:
    return _HASHES[name]()


class KeyLoadError(ValueError):
    """A private key could not be loaded; ``reason`` says why, for the keys layer to translate.

    Reasons: ``password-required`` (encrypted, no passphrase given), ``bad-password`` (the
    passphrase does not decrypt it), ``bad-format`` (not a key we can parse), ``unsupported``
    (a key type or cipher the library lacks).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# -- verification -----------------------------------------------------------------------------


class Ed25519Verifier:
    """Ed25519 public key (RFC 8032); raises ValueError for a value that is not 32 bytes."""

    def __init__(self, public: bytes) -> None:
        if len(public) != 32:
            raise ValueError(f"Ed25519 public key must be 32 bytes, got {len(public)}")
        self.public = public
        self._key = ed25519.Ed25519PublicKey.from_public_bytes(public)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


class EcdsaVerifier:
    """ECDSA public key on a NIST curve; raises ValueError for a point not on the curve."""

    def __init__(self, curve: str, point: bytes) -> None:
        curve_cls, self._hash_name = CURVES[curve]
        self._key = ec.EllipticCurvePublicKey.from_encoded_point(curve_cls(), point)

    def verify(self, r: int, s: int, data: bytes) -> bool:
        if r <= 0 or s <= 0:  # DER would encode them, but they are never valid signature values
            return False
        try:
            self._key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_hash(self._hash_name)))
        except InvalidSignature:
            return False
        return True


class RsaVerifier:
    """RSA public key, PKCS#1 v1.5 signatures (RFC 8017 / RFC 8332)."""

    def __init__(self, e: int, n: int) -> None:
        self._key = rsa.RSAPublicNumbers(e, n).public_key()
        self.modulus_bytes = (n.bit_length() + 7) // 8

    def verify(self, signature: bytes, hash_name: str, data: bytes) -> bool:
        # OpenSSH left-pads a signature shorter than the modulus (some signers strip leading
        # zeros) and rejects a longer one; we do the same so both sides agree on what verifies.
        if len(signature) > self.modulus_bytes:
            return False
        signature = signature.rjust(self.modulus_bytes, b"\x00")
        try:
            self._key.verify(signature, data, padding.PKCS1v15(), _hash(hash_name))
        except InvalidSignature:
            return False
        return True


class DsaVerifier:
    """DSA public key (FIPS 186, SHA-1 as ssh-dss requires); verification only matters for peers."""

    def __init__(self, p: int, q: int, g: int, y: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            self._key = _dsa("DSAPublicNumbers")(y, _dsa("DSAParameterNumbers")(p, q, g)).public_key()

    def verify(self, r: int, s: int, data: bytes) -> bool:
        if r <= 0 or s <= 0:
            return False
        try:
            self._key.verify(encode_dss_signature(r, s), data, hashes.SHA1())
        except InvalidSignature:
            return False
        return True


# -- private keys -----------------------------------------------------------------------------

if TYPE_CHECKING:
    _PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | dsa.DSAPrivateKey


def _dsa(name: str) -> Any:
    """An attribute of cryptography's dsa module, read without its deprecation warning.

    Why: since cryptography 51 every public name of that module warns when it is looked up, and
    a lookup at import time made ``python -W error -c 'import harness'`` fail and every command
    print the warning. We read them only when a DSA key is really in play (old peers, fuzz seeds).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return getattr(dsa, name)


class Signer(ABC):
    """A loaded private key; ``kind`` is one of ed25519, ecdsa, rsa, dsa."""

    kind: str
    _key: _PrivateKey

    def to_openssh(self, password: bytes | None) -> bytes:
        """The key in OpenSSH's private key format (bcrypt-pbkdf + aes256-ctr when encrypted)."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)

    @abstractmethod
    def public_parts(self) -> tuple[int | bytes | str, ...]:
        """The public half as the values the SSH blob carries, in blob order."""


class Ed25519Signer(Signer):
    kind = "ed25519"

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    def public_parts(self) -> tuple[bytes]:
        return (self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class EcdsaSigner(Signer):
    kind = "ecdsa"

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        for name, (curve_cls, hash_name) in CURVES.items():
            if isinstance(key.curve, curve_cls):
                self.curve, self._hash_name = name, hash_name
                break
        else:
            raise KeyLoadError("unsupported", f"ECDSA curve {key.curve.name} has no SSH name")

    def public_parts(self) -> tuple[str, bytes]:
        point = self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return self.curve, point

    def sign(self, data: bytes) -> tuple[int, int]:
        return decode_dss_signature(self._key.sign(data, ec.ECDSA(_hash(self._hash_name))))


class RsaSigner(Signer):
    kind = "rsa"

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def public_parts(self) -> tuple[int, int]:
        numbers = self._key.public_key().public_numbers()
        return numbers.e, numbers.n

    def sign(self, data: bytes, hash_name: str) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), _hash(hash_name))


class DsaSigner(Signer):
    kind = "dsa"

    def __init__(self, key: dsa.DSAPrivateKey) -> None:
        self._key = key

    def public_parts(self) -> tuple[int, int, int, int]:
        numbers = self._key.public_key().public_numbers()
        params = numbers.parameter_numbers
        return params.p, params.q, params.g, numbers.y

    def sign(self, data: bytes) -> tuple[int, int]:
        return decode_dss_signature(self._key.sign(data, hashes.SHA1()))


def _wrap(key: object) -> Signer:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return EcdsaSigner(key)
    if isinstance(key, rsa.RSAPrivateKey):
        return RsaSigner(key)
    if isinstance(key, _dsa("DSAPrivateKey")):
        return DsaSigner(key)
    raise KeyLoadError("unsupported", f"private key type {type(key).__name__} is not an SSH key type")


# Legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED" + "DEK-Info: CIPHER,IV-hex"): the IV
# length each cipher family needs, by name prefix.
_PEM_IV_BYTES = (("AES-", 16), ("DES-", 8))
_DEK_INFO = re.compile(rb"^DEK-Info:[ \t]*([^,\r\n]*),([^\r\n]*)$", re.MULTILINE)


def _check_pem_dek_info(data: bytes) -> None:
    """Refuse a legacy-encrypted PEM whose IV does not fit its cipher, before cryptography sees it.

    Why: cryptography (checked with 46-50) panics inside its Rust/OpenSSL glue ("assertion failed:
    iv_len <= iv.len()", a pyo3 PanicException, which is a BaseException) on a DEK-Info IV shorter
    than the cipher's block; found by the keys fuzz target (corpus/regressions/keys/).
    """
    match = _DEK_INFO.search(data)
    if match is None:
        return
    cipher = match.group(1).strip().decode("ascii", "replace").upper()
    iv_hex = match.group(2).strip()
    try:
        iv = bytes.fromhex(iv_hex.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeyLoadError("bad-format", f"PEM DEK-Info IV is not hex: {iv_hex[:40]!r}") from exc
    for prefix, size in _PEM_IV_BYTES:
        if cipher.startswith(prefix) and len(iv) != size:
            raise KeyLoadError("bad-format", f"PEM DEK-Info IV for {cipher} has {len(iv)} bytes, not {size}")


def _load_once(data: bytes, password: bytes | None) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
            return serialization.load_ssh_private_key(data, password)
        _check_pem_dek_info(data)
        return serialization.load_pem_private_key(data, password)


def load_private_key(data: bytes, password: bytes | None) -> Signer:
    """Load an OpenSSH-format or PEM (PKCS#1, SEC1, PKCS#8, OpenSSL-encrypted) private key.

    Why the retries: ``cryptography`` raises TypeError when the presence of a passphrase does
    not match the file, and ValueError both for a wrong passphrase and a corrupt file. Retrying
    without the passphrase tells those cases apart without matching error message text, and
    lets a passphrase given for an unencrypted key be ignored (as paramiko and ssh do).
    """
    try:
        return _wrap(_load_once(data, password))
    except TypeError as exc:
        if password is None:
            raise KeyLoadError("password-required", "private key is encrypted and no passphrase was given") from exc
        return load_private_key(data, None)  # unencrypted: the passphrase is simply not needed
    except (UnsupportedAlgorithm, NotImplementedError) as exc:
        # NotImplementedError: cryptography's parser has no support for compressed EC points in
        # OpenSSH key files (found by the keys fuzz target, corpus/regressions/keys/).
        raise KeyLoadError("unsupported", f"unsupported key or cipher: {exc}") from exc
    except ValueError as exc:
        if isinstance(exc, KeyLoadError):
            raise
        if password is not None:
            try:
                _load_once(data, None)
            except TypeError:
                raise KeyLoadError("bad-password", "passphrase does not decrypt the private key") from exc
            except (ValueError, UnsupportedAlgorithm, NotImplementedError):
                pass
        raise KeyLoadError("bad-format", f"not a private key we can read: {exc}") from exc


def generate_ed25519(seed: bytes | None = None) -> Ed25519Signer:
    """New Ed25519 key; a 32-byte ``seed`` makes it reproducible, else the OS generates it."""
    if seed is None:
        return Ed25519Signer(ed25519.Ed25519PrivateKey.generate())
    return Ed25519Signer(ed25519.Ed25519PrivateKey.from_private_bytes(seed))


def generate_ecdsa(curve: str, scalar: int | None = None) -> EcdsaSigner:
    """New ECDSA key on ``curve`` (nistp256/384/521); ``scalar`` in [1, order) makes it reproducible."""
    curve_cls = CURVES[curve][0]
    if scalar is None:
        return EcdsaSigner(ec.generate_private_key(curve_cls()))
    return EcdsaSigner(ec.derive_private_key(scalar, curve_cls()))


def generate_rsa(bits: int) -> RsaSigner:
    return RsaSigner(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def generate_dsa(bits: int = 1024) -> DsaSigner:
    """DSA for tests against old peers only: ssh-dss is 1024-bit SHA-1 and long deprecated."""
    return DsaSigner(_dsa("generate_private_key")(key_size=bits))
