"""SSH public keys: blob parsing, fingerprints, OpenSSH lines, and signature verification.

Why strict: host key blobs and signature blobs come from the peer, and the harness exists to
notice when a peer deviates. A blob with trailing bytes, an unknown type, a curve name that
disagrees with the type, a compressed or off-curve point, or a non-canonical mpint raises
:class:`DecodeError`; it is never repaired. Signature checks separate the two failure kinds a
report needs: a malformed signature blob raises DecodeError, a well-formed signature that does
not verify (wrong key, wrong data, wrong algorithm name) returns False.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.ssh.crypto import signatures as prim
from harness.ssh.errors import DecodeError
from harness.ssh.wire.codec import Reader, Writer


@dataclass(frozen=True)
class SignatureAlgorithm:
    """A public key signature algorithm name, the key type it signs with, and its hash."""

    name: str
    key_type: str
    hash_name: str  # "" for Ed25519, which hashes internally


_ALGORITHMS = (
    SignatureAlgorithm("ssh-ed25519", "ssh-ed25519", ""),
    SignatureAlgorithm("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", "sha256"),
    SignatureAlgorithm("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", "sha384"),
    SignatureAlgorithm("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", "sha512"),
    SignatureAlgorithm("rsa-sha2-512", "ssh-rsa", "sha512"),  # RFC 8332
    SignatureAlgorithm("rsa-sha2-256", "ssh-rsa", "sha256"),
    SignatureAlgorithm("ssh-rsa", "ssh-rsa", "sha1"),  # RFC 4253; SHA-1, kept for old peers
    SignatureAlgorithm("ssh-dss", "ssh-dss", "sha1"),  # RFC 4253; verification for old peers
)
SIGNATURE_ALGORITHMS: dict[str, SignatureAlgorithm] = {a.name: a for a in _ALGORITHMS}

#: Host key / public key algorithms we implement, in OpenSSH-like preference order.
SUPPORTED_HOST_KEY_ALGORITHMS: tuple[str, ...] = tuple(a.name for a in _ALGORITHMS)

#: OpenSSH refuses RSA moduli above this (SSH_RSA_MAXIMUM_MODULUS_SIZE); so do we, which also
#: bounds the cost a hostile blob can make a verification take.
MAX_RSA_BITS = 16384


def key_type_for_algorithm(algorithm: str) -> str:
    """The key blob type an algorithm signs with (rsa-sha2-256 -> ssh-rsa); ValueError if unknown."""
    try:
        return SIGNATURE_ALGORITHMS[algorithm].key_type
    except KeyError:
        raise ValueError(f"unknown public key algorithm {algorithm!r}") from None


def signature_algorithms_for_key_type(key_type: str) -> tuple[str, ...]:
    """The algorithms a key of ``key_type`` can sign with, most preferred first."""
    names = tuple(a.name for a in _ALGORITHMS if a.key_type == key_type)
    if not names:
        raise ValueError(f"unknown key type {key_type!r}")
    return names


def decode_signature_blob(blob: bytes) -> tuple[str, bytes]:
    """Split an SSH signature blob (string algorithm-name, string signature); strict."""
    r = Reader(blob)
    name = r.ascii()
    sig = r.string()
    r.check_end()
    return name, sig


def encode_signature_blob(algorithm: str, signature: bytes) -> bytes:
    return Writer().text(algorithm).string(signature).getvalue()


class PublicKey(ABC):
    """An SSH public key, identified by its blob (equality and hashing use the blob)."""

    key_type: str
    _blob: bytes

    def asbytes(self) -> bytes:
        """The SSH public key blob (RFC 4253 section 6.6)."""
        return self._blob

    def get_name(self) -> str:
        return self.key_type

    @abstractmethod
    def get_bits(self) -> int:
        """Key size in bits as ssh-keygen -l prints it."""

    def get_base64(self) -> str:
        return base64.b64encode(self._blob).decode("ascii")

    def fingerprint_sha256(self) -> str:
        """``SHA256:<base64 without padding>``, the form ssh-keygen -l prints."""
        digest = hashlib.sha256(self._blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def fingerprint_md5(self) -> str:
        """``MD5:aa:bb:...``, the legacy form (ssh-keygen -E md5)."""
        return "MD5:" + hashlib.md5(self._blob, usedforsecurity=False).digest().hex(":")

    def to_openssh_line(self, comment: str = "") -> str:
        """``type base64 [comment]`` as in .pub files and authorized_keys."""
        line = f"{self.key_type} {self.get_base64()}"
        return f"{line} {comment}" if comment else line

    def signature_algorithms(self) -> tuple[str, ...]:
        return signature_algorithms_for_key_type(self.key_type)

    def verify(self, algorithm: str, data: bytes, signature_blob: bytes) -> bool:
        """Check an SSH signature blob over ``data`` made with the negotiated ``algorithm``.

        Raises DecodeError when the blob (or the signature inside it) is malformed. Returns
        False when it is well formed but wrong, including when the name inside the blob is
        not ``algorithm`` (an ssh-rsa signature offered under rsa-sha2-256 is a peer bug to
        report, not to accept) or ``algorithm`` is not one this key type signs with.
        """
        name, sig = decode_signature_blob(signature_blob)
        spec = SIGNATURE_ALGORITHMS.get(algorithm)
        if spec is None or spec.key_type != self.key_type or name != algorithm:
            return False
        return self._verify_raw(spec.hash_name, data, sig)

    @abstractmethod
    def _verify_raw(self, hash_name: str, data: bytes, sig: bytes) -> bool:
        """Verify the inner signature; DecodeError if its encoding is malformed."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self._blob == other._blob

    def __hash__(self) -> int:
        return hash(self._blob)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key_type} {self.get_bits()} {self.fingerprint_sha256()}>"


class Ed25519PublicKey(PublicKey):
    """ssh-ed25519 (RFC 8709): the blob carries the 32-byte public value."""

    key_type = "ssh-ed25519"

    def __init__(self, public: bytes) -> None:
        self.public = public
        self._verifier = prim.Ed25519Verifier(public)
        self._blob = Writer().text(self.key_type).string(public).getvalue()

    def get_bits(self) -> int:
        return 256

    def _verify_raw(self, hash_name: str, data: bytes, sig: bytes) -> bool:
        if len(sig) != 64:  # RFC 8709 section 6: exactly R || S
            raise DecodeError(f"ssh-ed25519 signature must be 64 bytes, got {len(sig)}")
        return self._verifier.verify(sig, data)


class ECDSAPublicKey(PublicKey):
    """ecdsa-sha2-<curve> (RFC 5656): curve identifier plus an uncompressed SEC1 point."""

    def __init__(self, curve: str, point: bytes) -> None:
        if curve not in prim.CURVES:
            raise ValueError(f"unsupported ECDSA curve {curve!r}")
        coord = _COORDINATE_BYTES[curve]
        # RFC 5656 allows point compression only when negotiated; OpenSSH never does it and
        # rejects anything but 0x04 || X || Y, so the blob has exactly one valid length.
        if len(point) != 1 + 2 * coord or point[0] != 0x04:
            raise ValueError(f"{curve} point must be uncompressed ({1 + 2 * coord} bytes starting 04)")
        self.curve = curve
        self.point = point
        self.key_type = f"ecdsa-sha2-{curve}"
        self._verifier = prim.EcdsaVerifier(curve, point)
        self._blob = Writer().text(self.key_type).text(curve).string(point).getvalue()

    def get_bits(self) -> int:
        return _CURVE_BITS[self.curve]

    def _verify_raw(self, hash_name: str, data: bytes, sig: bytes) -> bool:
        r = Reader(sig)  # RFC 5656 section 3.1.2: mpint r, mpint s
        sig_r, sig_s = r.mpint(), r.mpint()
        r.check_end()
        return self._verifier.verify(sig_r, sig_s, data)


_COORDINATE_BYTES = {"nistp256": 32, "nistp384": 48, "nistp521": 66}
_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}


class RSAPublicKey(PublicKey):
    """ssh-rsa (RFC 4253 / RFC 8332): mpint e, mpint n; signs with SHA-1, SHA-256 or SHA-512."""

    key_type = "ssh-rsa"

    def __init__(self, e: int, n: int) -> None:
        if e <= 0 or n <= 0:
            raise ValueError("RSA e and n must be positive")
        if n.bit_length() > MAX_RSA_BITS:
            raise ValueError(f"RSA modulus of {n.bit_length()} bits exceeds {MAX_RSA_BITS}")
        self.e, self.n = e, n
        self._verifier = prim.RsaVerifier(e, n)
        self._blob = Writer().text(self.key_type).mpint(e).mpint(n).getvalue()

    def get_bits(self) -> int:
        return self.n.bit_length()

    def _verify_raw(self, hash_name: str, data: bytes, sig: bytes) -> bool:
        return self._verifier.verify(sig, hash_name, data)


class DSSPublicKey(PublicKey):
    """ssh-dss (RFC 4253): mpint p, q, g, y; the signature is 40 bytes r || s (SHA-1)."""

    key_type = "ssh-dss"

    def __init__(self, p: int, q: int, g: int, y: int) -> None:
        if min(p, q, g, y) <= 0:
            raise ValueError("DSA parameters must be positive")
        self.p, self.q, self.g, self.y = p, q, g, y
        self._verifier = prim.DsaVerifier(p, q, g, y)
        self._blob = Writer().text(self.key_type).mpint(p).mpint(q).mpint(g).mpint(y).getvalue()

    def get_bits(self) -> int:
        return self.p.bit_length()

    def _verify_raw(self, hash_name: str, data: bytes, sig: bytes) -> bool:
        if len(sig) != 40:  # RFC 4253 section 6.6: 160-bit r then 160-bit s, unsigned
            raise DecodeError(f"ssh-dss signature must be 40 bytes, got {len(sig)}")
        return self._verifier.verify(int.from_bytes(sig[:20], "big"), int.from_bytes(sig[20:], "big"), data)


def _read_ecdsa(r: Reader, key_type: str) -> PublicKey:
    curve = r.ascii()
    if key_type != f"ecdsa-sha2-{curve}":
        raise DecodeError(f"{key_type} blob names curve {curve[:40]!r}")
    return ECDSAPublicKey(curve, r.string())


_READERS: dict[str, Callable[[Reader, str], PublicKey]] = {
    "ssh-ed25519": lambda r, t: Ed25519PublicKey(r.string()),
    "ecdsa-sha2-nistp256": _read_ecdsa,
    "ecdsa-sha2-nistp384": _read_ecdsa,
    "ecdsa-sha2-nistp521": _read_ecdsa,
    "ssh-rsa": lambda r, t: RSAPublicKey(r.mpint(), r.mpint()),
    "ssh-dss": lambda r, t: DSSPublicKey(r.mpint(), r.mpint(), r.mpint(), r.mpint()),
}
KEY_TYPES: tuple[str, ...] = tuple(_READERS)


def parse_public_key(blob: bytes) -> PublicKey:
    """Parse an SSH public key blob; anything malformed or unsupported raises DecodeError."""
    r = Reader(blob)
    key_type = r.ascii()
    reader = _READERS.get(key_type)
    if reader is None:
        raise DecodeError(f"unsupported public key type {key_type[:64]!r}")
    try:
        key = reader(r, key_type)
    except ValueError as exc:  # the key type's own checks, or cryptography's (point not on curve)
        raise DecodeError(f"invalid {key_type} key: {exc}") from exc
    r.check_end()
    return key


def parse_public_key_line(line: str) -> PublicKey:
    """Parse ``[options] type base64 [comment]`` from a .pub file or authorized_keys line."""
    return split_public_key_line(line).key


@dataclass(frozen=True)
class PublicKeyLine:
    """One authorized_keys / .pub line: the options field (raw, "" if none), key and comment."""

    options: str
    key: PublicKey
    comment: str


def split_public_key_line(line: str) -> PublicKeyLine:
    """Split an authorized_keys line (sshd(8) AUTHORIZED_KEYS FILE FORMAT); DecodeError if bad.

    The options field is recognised by not being a key type; quoted option values may hold
    spaces. The type field must agree with the type inside the blob.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        raise DecodeError("no public key on this line")
    options = ""
    first = text.split(None, 1)[0]
    if first not in KEY_TYPES and not _looks_like_key_type(first):
        options, text = _split_options(text)
    fields = text.split(None, 2)
    if len(fields) < 2:
        raise DecodeError(f"public key line needs a type and base64 data: {line[:80]!r}")
    key_type, data = fields[0], fields[1]
    try:
        blob = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise DecodeError(f"public key is not valid base64: {data[:40]!r}") from exc
    key = parse_public_key(blob)
    if key.key_type != key_type:
        raise DecodeError(f"line says {key_type[:64]!r} but the key blob is {key.key_type}")
    return PublicKeyLine(options, key, fields[2].strip() if len(fields) > 2 else "")


def _looks_like_key_type(token: str) -> bool:
    # Unsupported types (sk-*, *-cert-v01@openssh.com) must still be reported as such, not
    # mistaken for an options field; option names never contain "ssh-" or "ecdsa-".
    return token.startswith(("ssh-", "ecdsa-", "sk-", "rsa-")) and "=" not in token


def _split_options(text: str) -> tuple[str, str]:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            return text[:i], text[i:].lstrip()
    raise DecodeError("authorized_keys options field is not followed by a key")


def load_public_key_file(path: str | Path) -> PublicKey:
    """The first key in a .pub / authorized_keys file (blank lines and # comments skipped)."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return parse_public_key_line(line)
    raise DecodeError(f"{path}: no public key found")
