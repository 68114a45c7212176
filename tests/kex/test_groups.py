"""The MODP groups derived from pi match the published primes (paramiko's copies as oracle)."""

from __future__ import annotations

import pytest

from harness.ssh.errors import KexError
from harness.ssh.kex import groups


def test_group14_matches_rfc3526_text() -> None:
    # First and last 64 bits of the RFC 3526 2048-bit prime, as printed in the RFC.
    h = format(groups.GROUP14.prime, "X")
    assert h.startswith("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1")
    assert h.endswith("15728E5A8AACAA68FFFFFFFFFFFFFFFF")


@pytest.mark.parametrize(
    ("group", "name"), [(groups.GROUP1, "group1"), (groups.GROUP14, "group14"), (groups.GROUP16, "group16")]
)
def test_against_asyncssh(group: groups.ModpGroup, name: str) -> None:
    """AsyncSSH carries the published hex of these primes: an independent transcription."""
    from asyncssh import kex_dh

    assert group.prime == getattr(kex_dh, f"_{name}_p")
    assert group.generator == getattr(kex_dh, f"_{name}_g")


def test_group18_is_a_safe_prime_shape() -> None:
    p = groups.GROUP18.prime
    assert p.bit_length() == 8192
    assert pow(2, p - 1, p) == 1  # Fermat witness 2
    assert format(p, "X").endswith("FFFFFFFFFFFFFFFF")


def test_public_value_range() -> None:
    p = groups.GROUP14.prime
    for bad in (0, 1, p - 1, p, p + 5, -3):
        with pytest.raises(KexError):
            groups.check_public_value(bad, p)
    groups.check_public_value(2, p)
