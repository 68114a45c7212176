"""Exchange hash and key derivation (RFC 4253 sections 7.2 and 8)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.ssh.crypto.kexprims import hash_function
from harness.ssh.wire.codec import Writer


def exchange_hash(
    hash_name: str,
    client_version: bytes,
    server_version: bytes,
    client_kexinit: bytes,
    server_kexinit: bytes,
    host_key: bytes,
    hash_body: bytes,
    shared_secret: bytes,
) -> bytes:
    """H = HASH(V_C || V_S || I_C || I_S || K_S || method fields || K).

    Versions exclude CR LF; the KEXINIT payloads are the exact bytes sent and received; K is
    passed already encoded (mpint or string) by the method.
    """
    w = Writer()
    w.string(client_version).string(server_version).string(client_kexinit).string(server_kexinit)
    w.string(host_key).raw(hash_body).raw(shared_secret)
    return hash_function(hash_name)(w.getvalue()).digest()


def derive_key(hash_name: str, shared_secret: bytes, h: bytes, letter: bytes, session_id: bytes, size: int) -> bytes:
    """K1 = HASH(K || H || letter || session_id), extended with HASH(K || H || K1 || ...)."""
    hf = hash_function(hash_name)
    out = hf(shared_secret + h + letter + session_id).digest()
    while len(out) < size:
        out += hf(shared_secret + h + out).digest()
    return out[:size]


@dataclass(frozen=True)
class DirectionKeys:
    iv: bytes
    key: bytes
    mac_key: bytes


def derive_direction_keys(
    hash_name: str,
    shared_secret: bytes,
    h: bytes,
    session_id: bytes,
    client_to_server: bool,
    iv_size: int,
    key_size: int,
    mac_key_size: int,
) -> DirectionKeys:
    """Letters A/C/E are client-to-server IV/key/MAC key; B/D/F the other direction."""
    iv_l, key_l, mac_l = (b"A", b"C", b"E") if client_to_server else (b"B", b"D", b"F")
    return DirectionKeys(
        derive_key(hash_name, shared_secret, h, iv_l, session_id, iv_size),
        derive_key(hash_name, shared_secret, h, key_l, session_id, key_size),
        derive_key(hash_name, shared_secret, h, mac_l, session_id, mac_key_size),
    )
