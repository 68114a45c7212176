"""RFC 4253 7.1 negotiation: the client's order wins, AEAD implies the MAC, clear failures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.errors import KexError
from harness.ssh.kex.negotiate import choose, negotiate
from harness.ssh.wire import messages as m


def kexinit(**overrides: object) -> m.Message:
    base = dict(
        kex_algorithms=("curve25519-sha256", "ecdh-sha2-nistp256"),
        server_host_key_algorithms=("ssh-ed25519", "rsa-sha2-256"),
        encryption_client_to_server=("aes128-gcm@openssh.com", "aes128-ctr"),
        encryption_server_to_client=("aes128-gcm@openssh.com", "aes128-ctr"),
        mac_client_to_server=("hmac-sha2-256",),
        mac_server_to_client=("hmac-sha2-256",),
        compression_client_to_server=("none",),
        compression_server_to_client=("none",),
    )
    base.update(overrides)
    return m.KexInit(**base)


AEAD = frozenset({"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"})


def test_client_preference_wins() -> None:
    client = kexinit(kex_algorithms=("ecdh-sha2-nistp256", "curve25519-sha256", "ext-info-c"))
    server = kexinit()
    neg = negotiate(client, server, AEAD)
    assert neg.kex == "ecdh-sha2-nistp256"
    assert neg.mac_c2s is None  # AEAD
    assert not neg.guess_was_right


def test_mac_needed_without_aead() -> None:
    neg = negotiate(kexinit(encryption_client_to_server=("aes128-ctr",)), kexinit(), AEAD)
    assert neg.cipher_c2s == "aes128-ctr" and neg.mac_c2s == "hmac-sha2-256"


def test_pseudo_algorithms_never_chosen() -> None:
    with pytest.raises(KexError, match="no common key exchange"):
        negotiate(kexinit(kex_algorithms=("ext-info-c", "kex-strict-c-v00@openssh.com")),
                  kexinit(kex_algorithms=("ext-info-c", "kex-strict-c-v00@openssh.com")), AEAD)  # fmt: skip


def test_failure_names_category_and_lists() -> None:
    with pytest.raises(KexError) as info:
        negotiate(kexinit(encryption_server_to_client=("3des-cbc",)), kexinit(), AEAD)
    assert "cipher (server to client)" in str(info.value) and "3des-cbc" in str(info.value)


def test_guess_right() -> None:
    assert negotiate(kexinit(), kexinit(), AEAD).guess_was_right


names = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True, max_size=5).map(tuple)


@given(names, names)
def test_choose_property(client: tuple[str, ...], server: tuple[str, ...]) -> None:
    common = [n for n in client if n in server]
    if not common:
        with pytest.raises(KexError):
            choose("x", client, server)
    else:
        assert choose("x", client, server) == common[0]
