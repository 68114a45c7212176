"""Private keys with a paramiko-style API: load, generate, sign, write.

Why paramiko's shape: the facade promises paramiko's API, so ``RSAKey.from_private_key_file``,
``Ed25519Key.generate()``, ``key.sign(data, algorithm)`` and ``key.asbytes()`` behave as there.
Files may be OpenSSH format (plain or bcrypt-encrypted) or PEM (PKCS#1, SEC1, PKCS#8, and
OpenSSL's traditional Proc-Type/DEK-Info encryption); ``cryptography`` parses them inside
``harness.ssh.crypto.signatures`` and every failure comes out as one of this module's
exceptions, never a raw library error. The file helpers are the only I/O in the keys package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, ClassVar

from harness.ssh.crypto import signatures as prim
from harness.ssh.errors import DecodeError, SSHException
from harness.ssh.keys.public import (
    SIGNATURE_ALGORITHMS,
    DSSPublicKey,
    ECDSAPublicKey,
    Ed25519PublicKey,
    PublicKey,
    RSAPublicKey,
    encode_signature_blob,
    signature_algorithms_for_key_type,
)
from harness.ssh.wire.codec import Writer

Password = str | bytes | None


class BadKeyFile(SSHException):
    """The file is not a private key we can read, or holds a different key type than asked for."""


class PasswordRequiredException(SSHException):
    """The private key is encrypted and no passphrase was given (paramiko's name)."""


class IncorrectPassphrase(PasswordRequiredException):
    """The passphrase does not decrypt the key; a subclass so "ask for a passphrase" covers both."""


def _password_bytes(password: Password) -> bytes | None:
    if password is None or password == "" or password == b"":
        return None
    return password.encode("utf-8") if isinstance(password, str) else password


def _load_signer(data: bytes, password: Password, source: str) -> prim.Signer:
    try:
        return prim.load_private_key(data, _password_bytes(password))
    except prim.KeyLoadError as exc:
        if exc.reason == "password-required":
            raise PasswordRequiredException(f"{source}: private key is encrypted; a passphrase is required") from None
        if exc.reason == "bad-password":
            raise IncorrectPassphrase(f"{source}: wrong passphrase (or a corrupt encrypted key)") from None
        raise BadKeyFile(f"{source}: {exc}") from None


class PKey:
    """A private key; ``PKey.from_private_key_file`` detects the type, subclasses insist on theirs.

    Equality and hashing use the public blob, as for :class:`PublicKey`.
    """

    _kind: ClassVar[str | None] = None  # the signer kind a subclass accepts; None = any
    _signer: prim.Signer
    public_key: PublicKey

    def __init__(self, signer: prim.Signer | None = None, *, filename: str | Path | None = None,
                 file_obj: IO[str] | IO[bytes] | None = None, password: Password = None) -> None:  # fmt: skip
        """Wrap a loaded signer, or load ``filename`` / ``file_obj`` (paramiko's constructor form)."""
        if signer is None:
            if filename is not None:
                signer = _load_signer(Path(filename).read_bytes(), password, str(filename))
            elif file_obj is not None:
                signer = _load_signer(_read_all(file_obj), password, "key data")
            else:
                raise TypeError("give a signer, filename= or file_obj=")
        if self._kind is not None and signer.kind != self._kind:
            raise BadKeyFile(f"{type(self).__name__} cannot hold a {signer.kind} key")
        self._signer = signer
        self.public_key = _public_from_signer(signer)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_private_key_file(cls, filename: str | Path, password: Password = None) -> PKey:
        return cls._from_data(Path(filename).read_bytes(), password, str(filename))

    @classmethod
    def from_private_key(cls, file_obj: IO[str] | IO[bytes], password: Password = None) -> PKey:
        return cls._from_data(_read_all(file_obj), password, "key data")

    @classmethod
    def _from_data(cls, data: bytes, password: Password, source: str) -> PKey:
        signer = _load_signer(data, password, source)
        target = _CLASSES[signer.kind]
        if cls is not PKey and target is not cls:
            raise BadKeyFile(f"{source}: holds a {signer.kind} key, not one for {cls.__name__}")
        try:
            return target(signer)
        except (ValueError, DecodeError) as exc:
            # cryptography loads PEM DSA keys without checking the domain parameters; the public
            # half then fails our own checks (q of 161 bits: found by the keys fuzz target).
            raise BadKeyFile(f"{source}: the key's public half is not a valid {signer.kind} key: {exc}") from exc

    # -- public half -------------------------------------------------------------------------

    def get_name(self) -> str:
        return self.public_key.key_type

    def get_bits(self) -> int:
        return self.public_key.get_bits()

    def asbytes(self) -> bytes:
        """The public key blob (what goes into USERAUTH_REQUEST and KEXDH_REPLY)."""
        return self.public_key.asbytes()

    def get_base64(self) -> str:
        return self.public_key.get_base64()

    def fingerprint_sha256(self) -> str:
        return self.public_key.fingerprint_sha256()

    def can_sign(self) -> bool:
        return True

    def signature_algorithms(self) -> tuple[str, ...]:
        return signature_algorithms_for_key_type(self.get_name())

    def default_signature_algorithm(self) -> str:
        return self.get_name()

    # -- signing -----------------------------------------------------------------------------

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        """SSH signature blob (string algorithm, string signature) over ``data``.

        ``algorithm`` defaults to the key's usual one (rsa-sha2-512 for RSA keys); one this
        key type cannot sign with is a caller error (ValueError), not something to guess around.
        """
        if algorithm is None:
            algorithm = self.default_signature_algorithm()
        spec = SIGNATURE_ALGORITHMS.get(algorithm)
        if spec is None or spec.key_type != self.get_name():
            raise ValueError(f"a {self.get_name()} key cannot sign with {algorithm!r}")
        return encode_signature_blob(algorithm, self._sign_raw(spec.hash_name, data))

    def _sign_raw(self, hash_name: str, data: bytes) -> bytes:
        raise NotImplementedError

    def verify(self, algorithm: str, data: bytes, signature_blob: bytes) -> bool:
        return self.public_key.verify(algorithm, data, signature_blob)

    # -- writing -----------------------------------------------------------------------------

    def private_bytes(self, password: Password = None) -> bytes:
        """OpenSSH private key format; encrypted with bcrypt-pbkdf + aes256-ctr when ``password``."""
        return self._signer.to_openssh(_password_bytes(password))

    def write_private_key(self, file_obj: IO[str], password: Password = None) -> None:
        file_obj.write(self.private_bytes(password).decode("ascii"))

    def write_private_key_file(self, filename: str | Path, password: Password = None) -> None:
        """Write the key in OpenSSH format, created with mode 0600 as ssh insists."""
        data = self.private_bytes(password)
        fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PKey):
            return NotImplemented
        return self.asbytes() == other.asbytes()

    def __hash__(self) -> int:
        return hash(self.asbytes())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.get_name()} {self.get_bits()} {self.fingerprint_sha256()}>"


class Ed25519Key(PKey):
    _kind = "ed25519"
    _signer: prim.Ed25519Signer

    @classmethod
    def generate(cls, seed: bytes | None = None) -> Ed25519Key:
        """New key; a 32-byte ``seed`` makes it reproducible (the sans-I/O random source)."""
        return cls(prim.generate_ed25519(seed))

    def _sign_raw(self, hash_name: str, data: bytes) -> bytes:
        return self._signer.sign(data)


class ECDSAKey(PKey):
    _kind = "ecdsa"
    _signer: prim.EcdsaSigner

    @classmethod
    def generate(cls, bits: int = 256, scalar: int | None = None) -> ECDSAKey:
        """New key on nistp256/384/521 chosen by ``bits``; ``scalar`` makes it reproducible."""
        curve = {256: "nistp256", 384: "nistp384", 521: "nistp521"}.get(bits)
        if curve is None:
            raise ValueError(f"ECDSA key size must be 256, 384 or 521, not {bits}")
        return cls(prim.generate_ecdsa(curve, scalar))

    def _sign_raw(self, hash_name: str, data: bytes) -> bytes:
        r, s = self._signer.sign(data)  # the curve fixes the hash (RFC 5656 section 6.2.1)
        return Writer().mpint(r).mpint(s).getvalue()


class RSAKey(PKey):
    _kind = "rsa"
    _signer: prim.RsaSigner

    @classmethod
    def generate(cls, bits: int = 3072) -> RSAKey:
        return cls(prim.generate_rsa(bits))

    def default_signature_algorithm(self) -> str:
        return "rsa-sha2-512"  # what OpenSSH prefers; ssh-rsa (SHA-1) only when asked for

    def _sign_raw(self, hash_name: str, data: bytes) -> bytes:
        sig = self._signer.sign(data, hash_name)
        modulus_bytes = (self.get_bits() + 7) // 8
        return sig.rjust(modulus_bytes, b"\x00")  # RFC 8332 section 3: exactly the modulus length


class DSSKey(PKey):
    """ssh-dss: for old peers only (1024-bit, SHA-1); OpenSSH disables it by default since 7.0."""

    _kind = "dsa"
    _signer: prim.DsaSigner

    @classmethod
    def generate(cls, bits: int = 1024) -> DSSKey:
        return cls(prim.generate_dsa(bits))

    def _sign_raw(self, hash_name: str, data: bytes) -> bytes:
        r, s = self._signer.sign(data)
        return r.to_bytes(20, "big") + s.to_bytes(20, "big")


_CLASSES: dict[str, type[PKey]] = {"ed25519": Ed25519Key, "ecdsa": ECDSAKey, "rsa": RSAKey, "dsa": DSSKey}


def _public_from_signer(signer: prim.Signer) -> PublicKey:
    if isinstance(signer, prim.Ed25519Signer):
        (public,) = signer.public_parts()
        return Ed25519PublicKey(public)
    if isinstance(signer, prim.EcdsaSigner):
        curve, point = signer.public_parts()
        return ECDSAPublicKey(curve, point)
    if isinstance(signer, prim.RsaSigner):
        e, n = signer.public_parts()
        return RSAPublicKey(e, n)
    if isinstance(signer, prim.DsaSigner):
        return DSSPublicKey(*signer.public_parts())
    raise BadKeyFile(f"no public key class for a {signer.kind} key")


def _read_all(file_obj: IO[str] | IO[bytes]) -> bytes:
    data = file_obj.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def load_private_key(data: bytes | str, password: Password = None) -> PKey:
    """A private key from file contents, of whichever type they hold."""
    return PKey._from_data(data.encode("utf-8") if isinstance(data, str) else data, password, "key data")


def load_private_key_file(path: str | Path, password: Password = None) -> PKey:
    """A private key from a file, of whichever type it holds (OpenSSH or PEM format)."""
    return PKey.from_private_key_file(path, password)
