"""UMAC (harness.ssh.crypto.umac) against RFC 4418's published vectors.

The vectors pin UMAC-64 (the RFC's appendix: key "abcdefghijklmnop", nonce "bcdefghi", 64-bit
tags; hex stored here). UMAC-128 and the SSH packet format are pinned byte for byte by asyncssh
(which uses Nettle's UMAC) in test_protection.py, and by OpenSSH's own client against our server
in tests/integration/test_serve_sshd_defaults.py.
"""

from __future__ import annotations

import pytest

from harness.ssh.crypto.umac import MAX_MESSAGE, Umac, UmacKeyed

KEY, NONCE = b"abcdefghijklmnop", b"bcdefghi"
RFC4418_UMAC64 = [
    (b"", "6E155FAD26900BE1"),
    (b"a" * 3, "44B5CB542F220104"),
    (b"a" * 2**10, "26BF2F5D60118BD9"),  # exactly one L1 chunk: no L2 hash
    (b"a" * 2**15, "27F8EF643B0D118D"),  # 32 chunks through POLY64
    (b"abc", "D4D7B9F6BD4FBFCF"),
    (b"abc" * 500, "D4CF26DDEFD5C01A"),  # a partial last chunk
]


@pytest.mark.parametrize(("message", "tag"), RFC4418_UMAC64)
def test_rfc4418_umac64_vectors(message: bytes, tag: str) -> None:
    assert Umac(KEY, 8).tag(NONCE, message).hex().upper() == tag


def test_umac64_takes_the_other_half_of_the_pad_block_for_an_odd_nonce() -> None:
    umac = Umac(KEY, 8)
    even, odd = bytes(7) + b"\x06", bytes(7) + b"\x07"
    # Same hash, pads from the two halves of one AES block: the tags differ, and xor-ing them
    # gives the xor of the halves whatever the message is.
    diff = [
        int.from_bytes(umac.tag(even, m), "big") ^ int.from_bytes(umac.tag(odd, m), "big") for m in (b"", b"x" * 99)
    ]
    assert diff[0] == diff[1] != 0


def test_keyed_form_uses_the_sequence_number_as_nonce_and_macs_the_rest() -> None:
    umac = Umac(KEY, 16)
    keyed = UmacKeyed(umac).copy()
    keyed.update((7).to_bytes(4, "big"))
    keyed.update(b"packet ")
    keyed.update(memoryview(b"bytes"))
    assert keyed.finalize() == umac.tag(bytes(4) + (7).to_bytes(4, "big"), b"packet bytes")


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="16-byte key"):
        Umac(b"short", 8)
    with pytest.raises(ValueError, match="8- or 16-byte tag"):
        Umac(KEY, 12)
    with pytest.raises(ValueError, match="at most"):
        Umac(KEY, 8).tag(NONCE, bytes(MAX_MESSAGE + 1))
