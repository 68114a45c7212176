"""Host keys that misbehave, for server-role scenarios (``Connect(host_keys=...)``).

Our server signs the exchange hash with the key ``Connection.host_key_for`` picks by the
negotiated algorithm; wrapping that key changes what goes into KEX_ECDH_REPLY (the key blob and
the signature) without touching the core. Each helper returns a function (the target's keys,
ctx) -> keys, the shape ``Connect(host_keys=...)`` takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HostKeys = Callable[[list[Any], Any], list[Any]]


class _Wrapped:
    """A host key that behaves as ``key`` except where a subclass says otherwise."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)


class WrongSignature(_Wrapped):
    """Signs something other than the exchange hash: the signature does not verify."""

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        return self._key.sign(data + b"not the exchange hash", algorithm)


class OtherTypeBlob(_Wrapped):
    """Chosen for the negotiated algorithm, but sends the blob of another key type, signed
    correctly by that other key with its own algorithm (RFC 4253 7.1: the key must be of the
    negotiated type)."""

    def __init__(self, key: Any, other: Any, algorithm: str) -> None:
        super().__init__(key)
        self._other, self._algorithm = other, algorithm

    def asbytes(self) -> bytes:
        return self._other.asbytes()

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        return self._other.sign(data, self._algorithm)


class MalformedReply(_Wrapped):
    """The host key blob or the signature blob of the reply is not what the format says."""

    def __init__(self, key: Any, part: str) -> None:
        super().__init__(key)
        self._part = part

    def asbytes(self) -> bytes:
        if self._part == "junk_host_key":
            return b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x05short"  # a 5-byte Ed25519 key
        return self._key.asbytes()

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        if self._part == "junk_signature":
            return b"\xff\xff\xff\xf0garbage that is no signature blob"
        if self._part == "empty_signature":
            return b""
        return self._key.sign(data, algorithm)


MALFORMED_PARTS = ("junk_host_key", "junk_signature", "empty_signature")


def malformed(part: str) -> HostKeys:
    if part not in MALFORMED_PARTS:
        raise ValueError(f"unknown malformed part {part!r}; choose from {', '.join(MALFORMED_PARTS)}")
    return lambda keys, ctx: [MalformedReply(k, part) for k in keys]


def bad_signature() -> HostKeys:
    return lambda keys, ctx: [WrongSignature(k) for k in keys]


def other_type(key_type: str) -> HostKeys:
    """Blobs of ``key_type`` ("ecdsa" or "rsa") in place of the negotiated (Ed25519) key."""

    def make(keys: list[Any], ctx: Any) -> list[Any]:
        other, algorithm = _fresh_key(key_type, ctx)
        return [OtherTypeBlob(k, other, algorithm) for k in keys]

    return make


def _fresh_key(key_type: str, ctx: Any) -> tuple[Any, str]:
    from harness.ssh.keys import ECDSAKey, RSAKey

    if key_type == "rsa":
        return RSAKey.generate(2048), "rsa-sha2-256"
    if key_type == "ecdsa":
        return ECDSAKey.generate(), "ecdsa-sha2-nistp256"
    raise ValueError(f"unknown key type {key_type!r}")


def fresh_ed25519(ctx: Any) -> Any:
    """A new Ed25519 host key from the scenario's seed (a host key changed at rekey)."""
    from harness.ssh.keys import Ed25519Key

    return Ed25519Key.generate(ctx.rng.randbytes(32))


def hostkeys_data(blobs: list[bytes]) -> bytes:
    """The body of hostkeys-00@openssh.com: one string per key blob."""
    from harness.ssh.wire.codec import Writer

    writer = Writer()
    for blob in blobs:
        writer.string(blob)
    return writer.getvalue()
