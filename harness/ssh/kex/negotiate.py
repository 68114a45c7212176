"""Algorithm negotiation (RFC 4253 section 7.1).

The client's list decides: for each category the first algorithm of the client's list that the
server also lists. A category with no common algorithm is a KEY_EXCHANGE_FAILED error that names
the category and both lists, which is what a person debugging interop needs to see.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.ssh.errors import KexError
from harness.ssh.wire.message import Message

# Names in the kex list that are signals, not algorithms (strict kex, ext-info).
KEX_PSEUDO_ALGORITHMS = frozenset(
    {
        "ext-info-c",
        "ext-info-s",
        "kex-strict-c-v00@openssh.com",
        "kex-strict-s-v00@openssh.com",
    }
)


@dataclass(frozen=True)
class Negotiated:
    kex: str
    host_key: str
    cipher_c2s: str
    cipher_s2c: str
    mac_c2s: str | None
    mac_s2c: str | None
    compression_c2s: str
    compression_s2c: str
    guess_was_right: bool


def choose(category: str, client: tuple[str, ...], server: tuple[str, ...]) -> str:
    server_set = set(server)
    for name in client:
        if name in server_set:
            return name
    raise KexError(
        f"no common {category} algorithm: client offers {', '.join(client) or '(none)'}; "
        f"server offers {', '.join(server) or '(none)'}"
    )


def negotiate(client: Message, server: Message, aead_ciphers: frozenset[str]) -> Negotiated:
    """Pick the algorithms of one key exchange from both KEXINITs."""
    c_kex = tuple(n for n in client.kex_algorithms if n not in KEX_PSEUDO_ALGORITHMS)
    s_kex = tuple(n for n in server.kex_algorithms if n not in KEX_PSEUDO_ALGORITHMS)
    kex = choose("key exchange", c_kex, s_kex)
    host_key = choose("host key", client.server_host_key_algorithms, server.server_host_key_algorithms)
    cipher_c2s = choose(
        "cipher (client to server)", client.encryption_client_to_server, server.encryption_client_to_server
    )
    cipher_s2c = choose(
        "cipher (server to client)", client.encryption_server_to_client, server.encryption_server_to_client
    )
    # With an AEAD cipher the MAC is implied (RFC 5647 as OpenSSH implements it).
    mac_c2s = None if cipher_c2s in aead_ciphers else choose(
        "MAC (client to server)", client.mac_client_to_server, server.mac_client_to_server
    )
    mac_s2c = None if cipher_s2c in aead_ciphers else choose(
        "MAC (server to client)", client.mac_server_to_client, server.mac_server_to_client
    )
    comp_c2s = choose(
        "compression (client to server)", client.compression_client_to_server, server.compression_client_to_server
    )
    comp_s2c = choose(
        "compression (server to client)", client.compression_server_to_client, server.compression_server_to_client
    )
    # RFC 4253 7: the guess is right when both sides' first kex and host key algorithms agree.
    guess_right = (
        bool(client.kex_algorithms)
        and bool(server.kex_algorithms)
        and client.kex_algorithms[0] == server.kex_algorithms[0]
        and bool(client.server_host_key_algorithms)
        and bool(server.server_host_key_algorithms)
        and client.server_host_key_algorithms[0] == server.server_host_key_algorithms[0]
    )
    return Negotiated(kex, host_key, cipher_c2s, cipher_s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c, guess_right)
