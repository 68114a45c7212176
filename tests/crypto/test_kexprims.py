"""Key-agreement primitives: curve orders, determinism from randbytes, bad peer values."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from harness.ssh.crypto import kexprims
from harness.ssh.errors import KexError


@pytest.mark.parametrize("curve", ["nistp256", "nistp384", "nistp521"])
def test_curve_order_is_the_scalar_bound(curve: str) -> None:
    n = kexprims._CURVE_ORDER[curve]
    cls = kexprims.CURVES[curve]
    ec.derive_private_key(n - 1, cls())
    with pytest.raises(ValueError):
        ec.derive_private_key(n, cls())


def _seeded(seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


@pytest.mark.parametrize("curve", ["nistp256", "nistp384", "nistp521"])
def test_ecdh_agrees_and_is_deterministic(curve: str) -> None:
    a, b = kexprims.EcdhParty(curve, _seeded(1)), kexprims.EcdhParty(curve, _seeded(2))
    assert a.shared_secret(b.public) == b.shared_secret(a.public)
    assert kexprims.EcdhParty(curve, _seeded(1)).public == a.public
    with pytest.raises(KexError):
        a.shared_secret(b"\x04" + bytes(len(a.public) - 1))


def test_x25519_rejects_low_order_and_bad_length() -> None:
    party = kexprims.X25519Party(_seeded(3))
    with pytest.raises(KexError):
        party.shared_secret(bytes(32))  # the zero point gives an all-zero secret
    with pytest.raises(KexError):
        party.shared_secret(bytes(31))


def test_mlkem_round_trip() -> None:
    client = kexprims.MlKem768Party(_seeded(4))
    ct, shared = kexprims.mlkem768_encapsulate(client.public)
    assert client.decapsulate(ct) == shared
    with pytest.raises(KexError):
        client.decapsulate(ct[:-1])
