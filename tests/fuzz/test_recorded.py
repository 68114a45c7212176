"""The recorded stand-ins a connection campaign uses (harness.fuzz.recorded) give the answers
exact computation gives on everything a fuzzer can produce."""

from __future__ import annotations

import pytest

from harness.fuzz import recorded
from harness.ssh.crypto import kexprims, signatures
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
    _keep_crypto(monkeypatch)
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
    assert isinstance(kexprims.x25519_private, recorded.Memo)


def test_exact_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(recorded.EXACT_ENV, raising=False)
    monkeypatch.delenv(recorded.LEGACY_EXACT_ENV, raising=False)
    assert not recorded.exact_requested()
    monkeypatch.setenv(recorded.LEGACY_EXACT_ENV, "1")
    assert recorded.exact_requested()


def test_memo_returns_the_function_result_and_keeps_no_exception() -> None:
    calls: list[tuple[int, int]] = []

    def divide(a: int, b: int) -> int:
        calls.append((a, b))
        return a // b

    memo = recorded.Memo(divide, limit=2)
    assert memo(7, 2) == 3 and memo(7, 2) == 3 and calls == [(7, 2)]
    with pytest.raises(ZeroDivisionError):
        memo(1, 0)
    with pytest.raises(ZeroDivisionError):
        memo(1, 0)  # not kept: raised again, by the function
    assert calls.count((1, 0)) == 2
    memo(8, 2), memo(9, 2)  # over the limit: the memo starts again rather than growing
    assert len(memo.known) <= 2


def _keep_crypto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put back what the memos replace after the test (install replaces them on purpose)."""
    for owner, name in recorded._memo_places():
        monkeypatch.setattr(owner, name, vars(owner)[name])


def test_memoized_kex_crypto_gives_the_exact_results(monkeypatch: pytest.MonkeyPatch) -> None:
    _keep_crypto(monkeypatch)
    secret_a, secret_b = bytes(range(32)), bytes(range(1, 33))
    expected = kexprims.X25519Party(lambda n: secret_a).shared_secret(kexprims.X25519Party(lambda n: secret_b).public)
    p256_a = kexprims.EcdhParty("nistp256", lambda n: b"\x01" * n)
    p256_b = kexprims.EcdhParty("nistp256", lambda n: b"\x02" * n)
    expected_ec = p256_a.shared_secret(p256_b.public)
    signer, _ = _signer_and_verifier(4)
    expected_sig = signer.sign(b"exchange hash")
    recorded._memoize_crypto()
    recorded._memoize_crypto()  # idempotent: wraps once
    assert isinstance(kexprims.x25519_exchange, recorded.Memo)
    assert not isinstance(kexprims.x25519_exchange.function, recorded.Memo)
    for _ in range(2):  # computed, then remembered: the same bytes both times
        x_a, x_b = kexprims.X25519Party(lambda n: secret_a), kexprims.X25519Party(lambda n: secret_b)
        assert x_a.shared_secret(x_b.public) == expected
        ec_a = kexprims.EcdhParty("nistp256", lambda n: b"\x01" * n)
        assert ec_a.shared_secret(p256_b.public) == expected_ec
        assert signer.sign(b"exchange hash") == expected_sig
    from harness.ssh.crypto import aead
    from harness.ssh.kex import exchange

    assert isinstance(exchange.derive_key, recorded.Memo) and isinstance(aead.chacha_streams, recorded.Memo)
    key = bytes(range(64))
    plain = bytes([0, 0, 0, 16, 6]) + bytes(15)
    reference = aead.ChachaPolySealer.__new__(aead.ChachaPolySealer)  # unshared streams
    reference._main, reference._length = aead.chacha_streams.function(key)
    first, second = aead.ChachaPolySealer(key), aead.ChachaPolyOpener(key)  # one shared pair
    assert first._main is second._main
    for seq in (0, 7, 3):  # interleaved use of the shared streams changes nothing
        wire = first.seal(seq, plain)
        assert wire == reference.seal(seq, plain)
        assert second.packet_length(seq, wire[:4]) == 16
        assert second.open(seq, memoryview(wire)) == plain[4:]
    with pytest.raises(kexprims.KexError):  # a bad point still fails, every time
        ec_a.shared_secret(b"\x04" + bytes(64))
    with pytest.raises(kexprims.KexError):
        x_a.shared_secret(bytes(32))  # all-zero output: the library's ValueError, exactly as unmemoized


def test_memoized_functions_are_the_unwrapped_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    _keep_crypto(monkeypatch)
    before = recorded.memoized_functions()
    recorded._memoize_crypto()
    after = recorded.memoized_functions()
    assert after == before and not any(isinstance(f, recorded.Memo) for f in after)
    assert len(after) == len(recorded._MEMOIZED) + 1  # and Ed25519 signing
