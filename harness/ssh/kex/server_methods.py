"""Key exchange methods, server side.

Each method answers the client's INIT with the values the exchange hash needs; the engine then
hashes, signs with the host key the negotiation chose, sends the reply that ``make_reply``
builds, and installs the keys. Mirror of ``methods.py`` (client side), same hash layouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256, sha512

from harness.ssh.crypto import kexprims
from harness.ssh.errors import KexError, RemoteProtocolError
from harness.ssh.kex import groups
from harness.ssh.kex.methods import GEX_MAX_BITS, GEX_MIN_BITS, RandBytes, _random_exponent
from harness.ssh.kex.moduli import Moduli
from harness.ssh.wire import messages as m
from harness.ssh.wire.codec import Writer, encode_mpint, encode_string
from harness.ssh.wire.message import Message


@dataclass(frozen=True)
class ServerOutcome:
    shared_secret: bytes  # K encoded for hashing
    hash_body: bytes
    make_reply: Callable[[bytes, bytes], Message]  # (host key blob, signature) -> reply


class ServerKex:
    context: str
    name: str
    ephemeral_private: bytes | None = None  # for key logs, where Wireshark can use it

    def handle(self, msg: Message) -> list[Message] | ServerOutcome:
        raise NotImplementedError


def _unexpected(name: str, msg: Message) -> RemoteProtocolError:
    return RemoteProtocolError(f"{name}: unexpected {msg.NAME} during key exchange (server side)")


class ModpServer(ServerKex):
    context = "dh"

    def __init__(self, name: str, group: groups.ModpGroup, randbytes: RandBytes, exponent_bits: int) -> None:
        self.name = name
        self.p, self.g = group.prime, group.generator
        self.y = _random_exponent(randbytes, self.p, exponent_bits)

    def handle(self, msg: Message) -> list[Message] | ServerOutcome:
        if not isinstance(msg, m.KexdhInit):
            raise _unexpected(self.name, msg)
        groups.check_public_value(msg.e, self.p)
        f = pow(self.g, self.y, self.p)
        k = pow(msg.e, self.y, self.p)
        body = Writer().mpint(msg.e).mpint(f).getvalue()
        return ServerOutcome(encode_string(encode_mpint(k)), body,
                             lambda blob, sig: m.KexdhReply(host_key=blob, f=f, signature=sig))  # fmt: skip


class GexServer(ServerKex):
    """RFC 4419 server: picks a group from the moduli file (or the fixed groups) by the request."""

    context = "gex"

    def __init__(self, name: str, randbytes: RandBytes, exponent_bits: int, moduli: Moduli) -> None:
        self.name = name
        self._randbytes = randbytes
        self._exponent_bits = exponent_bits
        self._moduli = moduli
        self._request: bytes | None = None
        self.p = self.g = self.y = 0

    def handle(self, msg: Message) -> list[Message] | ServerOutcome:
        if self._request is None:
            if isinstance(msg, m.KexGexRequest):
                if not (msg.min <= msg.n <= msg.max) or msg.max < GEX_MIN_BITS or msg.min > GEX_MAX_BITS:
                    raise KexError(f"group-exchange request out of range: min {msg.min} n {msg.n} max {msg.max}")
                self._request = Writer().uint32(msg.min).uint32(msg.n).uint32(msg.max).getvalue()
                lo, n, hi = max(msg.min, GEX_MIN_BITS), msg.n, min(msg.max, GEX_MAX_BITS)
            elif isinstance(msg, m.KexGexRequestOld):
                self._request = Writer().uint32(msg.n).getvalue()
                lo, n, hi = GEX_MIN_BITS, max(msg.n, GEX_MIN_BITS), GEX_MAX_BITS
            else:
                raise _unexpected(self.name, msg)
            self.p, self.g = self._moduli.choose(lo, n, hi, self._randbytes)
            self.y = _random_exponent(self._randbytes, self.p, self._exponent_bits)
            return [m.KexGexGroup(p=self.p, g=self.g)]
        if not isinstance(msg, m.KexGexInit):
            raise _unexpected(self.name, msg)
        groups.check_public_value(msg.e, self.p)
        f = pow(self.g, self.y, self.p)
        k = pow(msg.e, self.y, self.p)
        body = Writer().raw(self._request).mpint(self.p).mpint(self.g).mpint(msg.e).mpint(f).getvalue()
        return ServerOutcome(encode_string(encode_mpint(k)), body,
                             lambda blob, sig: m.KexGexReply(host_key=blob, f=f, signature=sig))  # fmt: skip


class _EcdhLikeServer(ServerKex):
    context = "ecdh"

    def respond(self, client_public: bytes) -> tuple[bytes, bytes]:
        """(server public value, K encoded for hashing)."""
        raise NotImplementedError

    def handle(self, msg: Message) -> list[Message] | ServerOutcome:
        if not isinstance(msg, m.KexEcdhInit):
            raise _unexpected(self.name, msg)
        server_public, k = self.respond(msg.client_public)
        body = Writer().string(msg.client_public).string(server_public).getvalue()
        return ServerOutcome(k, body, lambda blob, sig: m.KexEcdhReply(host_key=blob, server_public=server_public,
                                                                      signature=sig))  # fmt: skip


class Curve25519Server(_EcdhLikeServer):
    def __init__(self, name: str, randbytes: RandBytes) -> None:
        self.name = name
        self._party = kexprims.X25519Party(randbytes)
        self.ephemeral_private: bytes | None = self._party.private_bytes  # for key logs

    def respond(self, client_public: bytes) -> tuple[bytes, bytes]:
        secret = self._party.shared_secret(client_public)
        return self._party.public, encode_string(encode_mpint(int.from_bytes(secret, "big")))


class NistEcdhServer(_EcdhLikeServer):
    def __init__(self, name: str, curve: str, randbytes: RandBytes) -> None:
        self.name = name
        self._party = kexprims.EcdhParty(curve, randbytes)

    def respond(self, client_public: bytes) -> tuple[bytes, bytes]:
        secret = self._party.shared_secret(client_public)
        return self._party.public, encode_string(encode_mpint(int.from_bytes(secret, "big")))


class Sntrup761X25519Server(_EcdhLikeServer):
    def __init__(self, name: str, randbytes: RandBytes) -> None:
        from harness.ssh.crypto import sntrup761

        self._kem = sntrup761
        self.name = name
        self._randbytes = randbytes
        self._x = kexprims.X25519Party(randbytes)

    def respond(self, client_public: bytes) -> tuple[bytes, bytes]:
        size = self._kem.PUBLIC_KEY_SIZE
        if len(client_public) != size + 32:
            raise KexError(f"sntrup761x25519 client value must be {size + 32} bytes, got {len(client_public)}")
        ciphertext, kem_key = self._kem.encapsulate(client_public[:size], self._randbytes)
        x_secret = self._x.shared_secret(client_public[size:])
        return ciphertext + self._x.public, encode_string(sha512(kem_key + x_secret).digest())


class MlKem768X25519Server(_EcdhLikeServer):
    def __init__(self, name: str, randbytes: RandBytes) -> None:
        self.name = name
        self._x = kexprims.X25519Party(randbytes)

    def respond(self, client_public: bytes) -> tuple[bytes, bytes]:
        size = kexprims.MLKEM768_PUBLIC_SIZE
        if len(client_public) != size + 32:
            raise KexError(f"mlkem768x25519 client value must be {size + 32} bytes, got {len(client_public)}")
        ciphertext, kem_secret = kexprims.mlkem768_encapsulate(client_public[:size])
        x_secret = self._x.shared_secret(client_public[size:])
        return ciphertext + self._x.public, encode_string(sha256(kem_secret + x_secret).digest())


def make_server_kex(name: str, randbytes: RandBytes, moduli: Moduli) -> ServerKex:
    """The server side of kex method ``name`` (every method in KEX_METHODS has one)."""
    if name.startswith("mlkem768x25519"):
        return MlKem768X25519Server(name, randbytes)
    if name.startswith("sntrup761x25519"):
        return Sntrup761X25519Server(name, randbytes)
    if name.startswith("curve25519-sha256"):
        return Curve25519Server(name, randbytes)
    if name.startswith("ecdh-sha2-"):
        return NistEcdhServer(name, name.removeprefix("ecdh-sha2-"), randbytes)
    if name.startswith("diffie-hellman-group-exchange-"):
        return GexServer(name, randbytes, 512 if name.endswith("sha256") else 256, moduli)
    fixed = {
        "diffie-hellman-group1-sha1": (groups.GROUP1, 256),
        "diffie-hellman-group14-sha1": (groups.GROUP14, 256),
        "diffie-hellman-group14-sha256": (groups.GROUP14, 256),
        "diffie-hellman-group16-sha512": (groups.GROUP16, 512),
        "diffie-hellman-group18-sha512": (groups.GROUP18, 512),
    }
    group, bits = fixed[name]
    return ModpServer(name, group, randbytes, bits)
