"""Issue 19.4: an RSA user key signs with SHA-2 unless SHA-1 is asked for.

Without server-sig-algs (a server that sends no EXT_INFO) our client used SHA-1 "ssh-rsa",
which OpenSSH 8.8 and later refuse by default. Now it signs rsa-sha2-512, as OpenSSH and
paramiko do, and uses ssh-rsa only with ConnectionConfig.rsa_sha1_signatures.
"""

from __future__ import annotations

import functools

import pytest

from harness.ssh.auth.client import choose_rsa_algorithm
from harness.ssh.phases import Phase
from harness.ssh.wire import messages as m

from .channel_pair import fast_config
from .pair import USER, Pair


@pytest.mark.parametrize(("server_sig_algs", "allow_sha1", "expected"), [
    (None, False, "rsa-sha2-512"),
    (None, True, "ssh-rsa"),
    (("ssh-ed25519", "rsa-sha2-256", "ssh-rsa"), False, "rsa-sha2-256"),
    (("rsa-sha2-256", "rsa-sha2-512"), True, "rsa-sha2-512"),
    (("ssh-ed25519", "ssh-rsa"), False, "rsa-sha2-512"),
    (("ssh-ed25519", "ssh-rsa"), True, "ssh-rsa"),
])  # fmt: skip
def test_choice(server_sig_algs: tuple[str, ...] | None, allow_sha1: bool, expected: str) -> None:
    assert choose_rsa_algorithm(server_sig_algs, allow_sha1) == expected


@functools.cache
def _rsa_key():  # type: ignore[no-untyped-def]
    from harness.ssh.keys import RSAKey

    return RSAKey.generate(2048)


def _algorithm_used(ext_info: bool, sha1: bool) -> tuple[str, bool]:
    """(signature algorithm of the client's publickey request, whether the server accepted it)."""
    client = fast_config()
    client.ext_info = ext_info
    client.rsa_sha1_signatures = sha1
    p = Pair(client)
    key = _rsa_key()
    p.policy.keys.append(key.asbytes())
    seen: list[str] = []

    def observe(direction: str, seq: int, payload: bytes) -> None:
        if direction == "in" and payload[:1] == bytes([50]):
            msg = m.decode_message(payload)
            if isinstance(msg, m.UserauthRequestPublickey):
                seen.append(msg.algorithm)

    p.server.packet_observer = observe
    p.start()
    assert (p.client.auth.server_sig_algs is None) is (not ext_info)
    p.client.auth.publickey(USER, key)
    p.pump()
    [algorithm] = seen
    return algorithm, p.server.phase is Phase.CONNECTED


@pytest.mark.parametrize(("ext_info", "sha1", "expected"), [
    (False, False, "rsa-sha2-512"),  # no server-sig-algs: SHA-2 (was ssh-rsa)
    (False, True, "ssh-rsa"),  # configured: SHA-1
    (True, False, "rsa-sha2-512"),  # our server lists rsa-sha2-512
    (True, True, "rsa-sha2-512"),  # listed SHA-2 wins even when SHA-1 is allowed
])  # fmt: skip
def test_publickey_request_signs_with(ext_info: bool, sha1: bool, expected: str) -> None:
    assert _algorithm_used(ext_info, sha1) == (expected, True)
