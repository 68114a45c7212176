"""The recorded stand-ins a connection campaign uses (harness.fuzz.recorded) give the answers
exact computation gives on everything a fuzzer can produce."""

from __future__ import annotations

import pytest

from harness.fuzz import recorded
from harness.ssh.crypto import signatures
from harness.ssh.kex import methods, server_methods


def test_recorded_pow_is_exact_on_learned_arguments_and_in_range_elsewhere() -> None:
    p = (1 << 127) - 1  # a prime above the always-exact size
    rp = recorded.RecordedPow()
    learned = rp(3, 12345, p)
    assert learned == pow(3, 12345, p)
    rp.recording = False
    assert rp(3, 12345, p) == learned
    other = rp(3, 54321, p)
    assert 0 <= other < p and rp.stand_ins == 1
    assert rp(5, 3, 97) == pow(5, 3, 97)  # small moduli: always exact
    assert rp(2, 10) == 1024  # no modulus: exact


def _signer_and_verifier(seed: int) -> tuple[signatures.Ed25519Signer, signatures.Ed25519Verifier]:
    signer = signatures.generate_ed25519(bytes([seed]) * 32)
    return signer, signatures.Ed25519Verifier(signer.public_parts()[0])


def test_recorded_verify_answers_like_the_exact_check() -> None:
    exact = signatures.Ed25519Verifier.verify
    rv = recorded.RecordedVerify(exact)
    host_signer, host = _signer_and_verifier(1)
    good = host_signer.sign(b"exchange hash")
    assert rv(host, good, b"exchange hash") is True  # learning: exact
    assert rv(host, bytes(64), b"exchange hash") is False
    rv.recording = False
    assert rv(host, good, b"exchange hash") is True  # learned answer
    # A signature the learned key never made over this data: exactly what the check says too.
    assert rv(host, good, b"another hash") is False == exact(host, good, b"another hash")
    assert rv.stand_ins == 1
    # Any other key is checked exactly: a valid signature under it verifies.
    other_signer, other = _signer_and_verifier(2)
    assert rv(other, other_signer.sign(b"m"), b"m") is True
    assert rv(other, bytes(64), b"m") is False
    assert rv.stand_ins == 1


def test_install_patches_only_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signatures.Ed25519Verifier, "verify", signatures.Ed25519Verifier.verify)
    monkeypatch.setattr(methods, "pow", pow, raising=False)
    monkeypatch.setattr(server_methods, "pow", pow, raising=False)
    learner = recorded.install(with_pow=False)
    assert learner.pow is None and methods.pow is pow
    signer, verifier = _signer_and_verifier(3)
    seen: list[bytes] = []
    learner.learn(lambda data: seen.append(data) or verifier.verify(signer.sign(data), data), [b"a", b"b"])
    assert seen == [b"a", b"b"] and not learner.verify.recording
    assert verifier.verify(signer.sign(b"a"), b"a") is True  # learned
    assert verifier.verify(signer.sign(b"c"), b"c") is False  # unseen signature, learned key: stood in
    learner = recorded.install(with_pow=True)
    assert methods.pow is learner.pow and server_methods.pow is learner.pow


def test_exact_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(recorded.EXACT_ENV, raising=False)
    monkeypatch.delenv(recorded.LEGACY_EXACT_ENV, raising=False)
    assert not recorded.exact_requested()
    monkeypatch.setenv(recorded.LEGACY_EXACT_ENV, "1")
    assert recorded.exact_requested()
