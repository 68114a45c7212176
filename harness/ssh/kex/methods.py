"""Key exchange methods, client side, as small state objects behind one narrow interface.

Why this shape: the connection only needs to know which message layout the method uses
(``context``), what to send first, and what to do with each reply. A method returns a
:class:`KexOutcome` once it has the server's reply; the exchange hash, the host key check and
the key derivation are common code in ``kex/exchange.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256, sha512

from harness.ssh.crypto import kexprims
from harness.ssh.errors import KexError, RemoteProtocolError
from harness.ssh.kex import groups
from harness.ssh.wire import messages as m
from harness.ssh.wire.codec import Writer, encode_mpint, encode_string
from harness.ssh.wire.message import Message

RandBytes = Callable[[int], bytes]


@dataclass(frozen=True)
class KexOutcome:
    """What the common code needs from a finished method."""

    host_key: bytes
    signature: bytes
    shared_secret: bytes  # K already encoded for hashing (mpint or string)
    hash_body: bytes  # the method-specific fields of the exchange hash, encoded


class ClientKex:
    """Base of the client-side methods."""

    context: str
    # The ephemeral private value for key logs, where a method has one Wireshark can use.
    ephemeral_private: bytes | None = None

    def start(self) -> list[Message]:
        raise NotImplementedError

    def handle(self, msg: Message) -> list[Message] | KexOutcome:
        raise NotImplementedError


def _unexpected(method: str, msg: Message) -> RemoteProtocolError:
    return RemoteProtocolError(f"{method}: unexpected {msg.NAME} during key exchange")


def _random_exponent(randbytes: RandBytes, prime: int, bits: int) -> int:
    """A private exponent of ``bits`` bits in [2, p-2] (RFC 4419 8: twice the hash strength)."""
    x = int.from_bytes(randbytes((bits + 7) // 8), "big") >> (-bits % 8)
    return x % (prime - 3) + 2


class ModpKex(ClientKex):
    """diffie-hellman-group{1,14,16,18}-sha* with Python big-integer arithmetic."""

    context = "dh"

    def __init__(self, name: str, group: groups.ModpGroup, randbytes: RandBytes, exponent_bits: int) -> None:
        self.name = name
        self.p = group.prime
        self.g = group.generator
        self.x = _random_exponent(randbytes, self.p, exponent_bits)
        self.e = pow(self.g, self.x, self.p)

    def start(self) -> list[Message]:
        return [m.KexdhInit(e=self.e)]

    def handle(self, msg: Message) -> list[Message] | KexOutcome:
        if not isinstance(msg, m.KexdhReply):
            raise _unexpected(self.name, msg)
        groups.check_public_value(msg.f, self.p)
        k = pow(msg.f, self.x, self.p)
        body = Writer().mpint(self.e).mpint(msg.f).getvalue()
        return KexOutcome(msg.host_key, msg.signature, encode_string(encode_mpint(k)), body)


# RFC 8270: at least 2048-bit groups; OpenSSH asks for min 2048, preferred 3072..8192.
GEX_MIN_BITS = 2048
GEX_PREFERRED_BITS = 3072
GEX_MAX_BITS = 8192


class GexKex(ClientKex):
    """diffie-hellman-group-exchange-sha{1,256} (RFC 4419), client side."""

    context = "gex"

    def __init__(self, name: str, randbytes: RandBytes, exponent_bits: int) -> None:
        self.name = name
        self._randbytes = randbytes
        self._exponent_bits = exponent_bits
        self.p = 0
        self.g = 0
        self.x = 0
        self.e = 0

    def start(self) -> list[Message]:
        return [m.KexGexRequest(min=GEX_MIN_BITS, n=GEX_PREFERRED_BITS, max=GEX_MAX_BITS)]

    def handle(self, msg: Message) -> list[Message] | KexOutcome:
        if isinstance(msg, m.KexGexGroup) and not self.p:
            bits = msg.p.bit_length()
            if not GEX_MIN_BITS <= bits <= GEX_MAX_BITS:
                raise KexError(f"server's group-exchange prime has {bits} bits, outside {GEX_MIN_BITS}..{GEX_MAX_BITS}")
            if msg.p % 2 == 0 or not 1 < msg.g < msg.p - 1:
                raise KexError("server's group-exchange group is malformed (even prime or bad generator)")
            self.p, self.g = msg.p, msg.g
            self.x = _random_exponent(self._randbytes, self.p, self._exponent_bits)
            self.e = pow(self.g, self.x, self.p)
            return [m.KexGexInit(e=self.e)]
        if isinstance(msg, m.KexGexReply) and self.p:
            groups.check_public_value(msg.f, self.p)
            k = pow(msg.f, self.x, self.p)
            body = (
                Writer()
                .uint32(GEX_MIN_BITS)
                .uint32(GEX_PREFERRED_BITS)
                .uint32(GEX_MAX_BITS)
                .mpint(self.p)
                .mpint(self.g)
                .mpint(self.e)
                .mpint(msg.f)
                .getvalue()
            )
            return KexOutcome(msg.host_key, msg.signature, encode_string(encode_mpint(k)), body)
        raise _unexpected(self.name, msg)


class _EcdhLikeKex(ClientKex):
    """Shared shape of every method with one INIT (string) and one REPLY (string)."""

    context = "ecdh"
    name = ""

    def client_public(self) -> bytes:
        raise NotImplementedError

    def shared(self, server_public: bytes) -> bytes:
        """K encoded for hashing."""
        raise NotImplementedError

    def start(self) -> list[Message]:
        return [m.KexEcdhInit(client_public=self.client_public())]

    def handle(self, msg: Message) -> list[Message] | KexOutcome:
        if not isinstance(msg, m.KexEcdhReply):
            raise _unexpected(self.name, msg)
        k = self.shared(msg.server_public)
        body = Writer().string(self.client_public()).string(msg.server_public).getvalue()
        return KexOutcome(msg.host_key, msg.signature, k, body)


class Curve25519Kex(_EcdhLikeKex):
    """curve25519-sha256 (RFC 8731): K is the X25519 output read as an unsigned mpint."""

    def __init__(self, name: str, randbytes: RandBytes) -> None:
        self.name = name
        self._party = kexprims.X25519Party(randbytes)
        self.ephemeral_private = self._party.private_bytes

    def client_public(self) -> bytes:
        return self._party.public

    def shared(self, server_public: bytes) -> bytes:
        secret = self._party.shared_secret(server_public)
        return encode_string(encode_mpint(int.from_bytes(secret, "big")))


class NistEcdhKex(_EcdhLikeKex):
    """ecdh-sha2-nistp256/384/521 (RFC 5656): K is the shared x coordinate as mpint."""

    def __init__(self, name: str, curve: str, randbytes: RandBytes) -> None:
        self.name = name
        self._party = kexprims.EcdhParty(curve, randbytes)

    def client_public(self) -> bytes:
        return self._party.public

    def shared(self, server_public: bytes) -> bytes:
        secret = self._party.shared_secret(server_public)
        return encode_string(encode_mpint(int.from_bytes(secret, "big")))


class Sntrup761X25519Kex(_EcdhLikeKex):
    """sntrup761x25519-sha512@openssh.com: K = SHA-512(kem key || X25519 secret) as string."""

    def __init__(self, name: str, randbytes: RandBytes) -> None:
        from harness.ssh.crypto import sntrup761

        self._kem = sntrup761
        self.name = name
        self._kem_public, self._kem_secret = sntrup761.generate_keypair(randbytes)
        self._x = kexprims.X25519Party(randbytes)

    def client_public(self) -> bytes:
        return self._kem_public + self._x.public

    def shared(self, server_public: bytes) -> bytes:
        ct_size = self._kem.CIPHERTEXT_SIZE
        if len(server_public) != ct_size + 32:
            raise KexError(f"sntrup761x25519 reply must be {ct_size + 32} bytes, got {len(server_public)}")
        kem_key = self._kem.decapsulate(server_public[:ct_size], self._kem_secret)
        x_secret = self._x.shared_secret(server_public[ct_size:])
        return encode_string(sha512(kem_key + x_secret).digest())


class MlKem768X25519Kex(_EcdhLikeKex):
    """mlkem768x25519-sha256: K = SHA-256(ML-KEM secret || X25519 secret) as string."""

    def __init__(self, name: str, randbytes: RandBytes) -> None:
        self.name = name
        self._kem = kexprims.MlKem768Party(randbytes)
        self._x = kexprims.X25519Party(randbytes)

    def client_public(self) -> bytes:
        return self._kem.public + self._x.public

    def shared(self, server_public: bytes) -> bytes:
        ct_size = kexprims.MLKEM768_CIPHERTEXT_SIZE
        if len(server_public) != ct_size + 32:
            raise KexError(f"mlkem768x25519 reply must be {ct_size + 32} bytes, got {len(server_public)}")
        kem_secret = self._kem.decapsulate(server_public[:ct_size])
        x_secret = self._x.shared_secret(server_public[ct_size:])
        return encode_string(sha256(kem_secret + x_secret).digest())


@dataclass(frozen=True)
class KexSpec:
    """A registered kex algorithm: its name, exchange hash, and how to make the client side."""

    name: str
    hash_name: str
    make_client: Callable[[RandBytes], ClientKex]


def _specs() -> dict[str, KexSpec]:
    specs = [
        KexSpec("mlkem768x25519-sha256", "sha256", lambda r: MlKem768X25519Kex("mlkem768x25519-sha256", r)),
        KexSpec(
            "sntrup761x25519-sha512@openssh.com",
            "sha512",
            lambda r: Sntrup761X25519Kex("sntrup761x25519-sha512@openssh.com", r),
        ),
        KexSpec("sntrup761x25519-sha512", "sha512", lambda r: Sntrup761X25519Kex("sntrup761x25519-sha512", r)),
        KexSpec("curve25519-sha256", "sha256", lambda r: Curve25519Kex("curve25519-sha256", r)),
        KexSpec("curve25519-sha256@libssh.org", "sha256", lambda r: Curve25519Kex("curve25519-sha256@libssh.org", r)),
        KexSpec("ecdh-sha2-nistp256", "sha256", lambda r: NistEcdhKex("ecdh-sha2-nistp256", "nistp256", r)),
        KexSpec("ecdh-sha2-nistp384", "sha384", lambda r: NistEcdhKex("ecdh-sha2-nistp384", "nistp384", r)),
        KexSpec("ecdh-sha2-nistp521", "sha512", lambda r: NistEcdhKex("ecdh-sha2-nistp521", "nistp521", r)),
        KexSpec(
            "diffie-hellman-group-exchange-sha256",
            "sha256",
            lambda r: GexKex("diffie-hellman-group-exchange-sha256", r, 512),
        ),
        KexSpec(
            "diffie-hellman-group16-sha512",
            "sha512",
            lambda r: ModpKex("diffie-hellman-group16-sha512", groups.GROUP16, r, 512),
        ),
        KexSpec(
            "diffie-hellman-group18-sha512",
            "sha512",
            lambda r: ModpKex("diffie-hellman-group18-sha512", groups.GROUP18, r, 512),
        ),
        KexSpec(
            "diffie-hellman-group14-sha256",
            "sha256",
            lambda r: ModpKex("diffie-hellman-group14-sha256", groups.GROUP14, r, 256),
        ),
        KexSpec(
            "diffie-hellman-group14-sha1",
            "sha1",
            lambda r: ModpKex("diffie-hellman-group14-sha1", groups.GROUP14, r, 256),
        ),
        KexSpec(
            "diffie-hellman-group-exchange-sha1",
            "sha1",
            lambda r: GexKex("diffie-hellman-group-exchange-sha1", r, 256),
        ),
        KexSpec(
            "diffie-hellman-group1-sha1",
            "sha1",
            lambda r: ModpKex("diffie-hellman-group1-sha1", groups.GROUP1, r, 256),
        ),
    ]
    return {s.name: s for s in specs}


KEX_METHODS: dict[str, KexSpec] = _specs()
# Offered by default: everything but the 1024-bit group1 and SHA-1 methods (still selectable).
DEFAULT_KEX: tuple[str, ...] = tuple(
    n for n in KEX_METHODS if n not in ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
                                        "diffie-hellman-group-exchange-sha1", "sntrup761x25519-sha512")
)  # fmt: skip
