"""Recorded stand-ins for the two costs a connection campaign need not pay on every input.

A connection fuzzer's input that carries a key exchange reply pays for big-integer ``pow``
(milliseconds in finite-field Diffie-Hellman) and a host-key signature check (~85 us for
Ed25519, most of what such an input costs otherwise). Both are *learned* before the campaign
starts, while the phases are built and the seed corpus runs once with exact arithmetic, then:

- :class:`RecordedPow`: exact on every (base, exponent, modulus) seen while learning, a cheap
  deterministic value in [0, modulus) for any other. A mutated server value (f, a group's p or
  g) changes the exchange hash the server's host key signed, so the signature check fails
  whatever K is, as with exact arithmetic; every check before the exponentiation (ranges, bit
  sizes, parity) runs unchanged; the learned values, the only ones that lead past the
  signature to NEWKEYS, still get the exact result. Lost: the value of a K nothing can use.
- :class:`RecordedVerify`: exact on every (public key, signature, data) seen while learning;
  ``False`` for any other signature under a key seen while learning; exact for every other
  key. Why that is the same answer: a learned key is a real peer's host key whose private half
  the fuzzer does not have, and Ed25519 signatures cannot be forged (nor mauled: OpenSSL
  rejects non-canonical R and S), so a signature it never saw under that key does not verify.
  A key the fuzzer made up (a mutated blob, a small-order point) gets the real check, so
  weak-key forgeries stay findable. Parsing (blob layout, name, the 64-byte length) runs
  before the check and is never stood in.

Besides the two stand-ins, a campaign memoizes the kex parties' elliptic-curve work, key
derivation and Ed25519 signing (:class:`Memo`): X25519 and NIST key generation from the
phase's fixed random bytes, the exchanges with a peer value, the session keys from K and H,
our host key's signature over an exchange hash. Those are pure functions of their arguments
(Ed25519 signing is deterministic; ECDSA, which is not, is left alone), so a memo changes no
answer, only what it costs: a phase repeats the same key generation for every input that
reaches it, and most inputs keep the recorded peer value. The ChaCha20 contexts of a key are
shared the same way: every use rewinds them first, within the call (``aead.chacha_streams``).

Only a campaign installs them (``main`` of the connection targets); the test suite's replay and
``harness fuzz --replay`` always compute exactly. ``HARNESS_FUZZ_EXACT=1`` turns both off.
"""

from __future__ import annotations

import builtins
import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

EXACT_ENV = "HARNESS_FUZZ_EXACT"
LEGACY_EXACT_ENV = "HARNESS_FUZZ_EXACT_DH"  # the older name, same meaning
# Moduli this small are exact always: they are no cost, and they keep pow's own behaviour on
# degenerate groups (modulus 1, ...) that the kex code's checks should have refused.
_EXACT_BELOW_BITS = 64


class RecordedPow:
    """``pow`` for the kex modules: exact on recorded arguments, a stand-in on any other."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, int, int], int] = {}
        self.recording = True
        self.stand_ins = 0

    def __call__(self, base: int, exp: int, mod: int | None = None) -> int:
        if mod is None or mod.bit_length() < _EXACT_BELOW_BITS or exp < 0:
            return builtins.pow(base, exp, mod)
        key = (base, exp, mod)
        value = self.known.get(key)
        if value is not None:
            return value
        if self.recording:
            value = self.known[key] = builtins.pow(base, exp, mod)
            return value
        self.stand_ins += 1
        # Any value in [0, mod) would do: it only feeds a hash nobody can have signed.
        return (base * 0x9E3779B97F4A7C15 + exp) % mod


class RecordedVerify:
    """Ed25519 signature checks: learned answers, ``False`` for unseen signatures under a
    learned key, exact for any other key."""

    def __init__(self, exact: Callable[[Any, bytes, bytes], bool]) -> None:
        self._exact = exact
        self.known: dict[tuple[bytes, bytes, bytes], bool] = {}
        self.keys: set[bytes] = set()
        self.recording = True
        self.stand_ins = 0

    def __call__(self, verifier: Any, signature: bytes, data: bytes) -> bool:
        public: bytes = verifier.public
        key = (public, bytes(signature), bytes(data))
        answer = self.known.get(key)
        if answer is not None:
            return answer
        if self.recording:
            answer = self.known[key] = self._exact(verifier, signature, data)
            self.keys.add(public)
            return answer
        if public in self.keys:
            self.stand_ins += 1
            return False
        return self._exact(verifier, signature, data)


class Memo:
    """A pure function's results by argument tuple (bounded; exceptions are not kept)."""

    def __init__(self, function: Callable[..., Any], limit: int = 4096) -> None:
        self.function = function
        self.limit = limit
        self.known: dict[tuple[Any, ...], Any] = {}

    def __call__(self, *args: Any) -> Any:
        value = self.known.get(args)
        if value is None:
            if len(self.known) >= self.limit:
                self.known.clear()
            value = self.known[args] = self.function(*args)
        return value


# (module, function) pairs memoized in a campaign: pure functions of their arguments, or (the
# ChaCha20 streams) objects that carry no state from one call to the next.
_MEMOIZED = (
    ("harness.ssh.crypto.kexprims", "x25519_private"),
    ("harness.ssh.crypto.kexprims", "x25519_exchange"),
    ("harness.ssh.crypto.kexprims", "ecdh_private"),
    ("harness.ssh.crypto.kexprims", "ecdh_exchange"),
    ("harness.ssh.kex.exchange", "derive_key"),
    ("harness.ssh.crypto.aead", "chacha_streams"),
)


def _memo_places() -> list[tuple[Any, str]]:
    """(owner, attribute) of every memoized function: the modules' functions, Ed25519 signing."""
    from harness.ssh.crypto import signatures

    places: list[tuple[Any, str]] = [(importlib.import_module(module), name) for module, name in _MEMOIZED]
    places.append((signatures.Ed25519Signer, "sign"))
    return places


def memoized_functions() -> list[Callable[..., Any]]:
    """The functions a campaign memoizes, unwrapped (the connection targets run them
    uninstrumented, so an input's coverage never depends on what the memo holds)."""
    found = [vars(owner)[name] for owner, name in _memo_places()]
    return [f.function if isinstance(f, Memo) else f for f in found]


def _memoize_crypto() -> None:
    """Memoize the kex parties' calls into ``cryptography``, key derivation, the ChaCha20
    streams of a key and Ed25519 signing (idempotent)."""
    for owner, name in _memo_places():
        function = vars(owner)[name]
        if not isinstance(function, Memo):
            wrap = _MemoMethod if isinstance(owner, type) else Memo  # a method gets its instance
            setattr(owner, name, wrap(function))


class _MemoMethod(Memo):
    """A memoized method: a descriptor, so ``signer.sign(data)`` passes the signer as an argument."""

    def __get__(self, obj: Any, owner: type | None = None) -> Callable[..., Any]:
        if obj is None:
            return self
        return lambda *args: self(obj, *args)


@dataclass
class Recorded:
    """What :func:`install` put in place; :meth:`stop_learning` once the seeds have run."""

    pow: RecordedPow | None
    verify: RecordedVerify

    def stop_learning(self) -> None:
        if self.pow is not None:
            self.pow.recording = False
        self.verify.recording = False

    def learn(self, run_one: Callable[[bytes], None], inputs: Iterable[bytes]) -> None:
        """Run ``inputs`` with exact arithmetic, remembering every answer; then stop learning."""
        for data in inputs:
            run_one(data)
        self.stop_learning()


_exact_verify: Callable[[Any, bytes, bytes], bool] | None = None


def exact_requested() -> bool:
    return os.environ.get(EXACT_ENV) == "1" or os.environ.get(LEGACY_EXACT_ENV) == "1"


def install(with_pow: bool) -> Recorded:
    """Put the recorders and memos in place (``pow`` in the kex modules only when ``with_pow``)."""
    from harness.ssh.crypto import signatures
    from harness.ssh.kex import methods, server_methods

    recorded_pow = None
    if with_pow:
        recorded_pow = RecordedPow()
        methods.pow = recorded_pow  # type: ignore[attr-defined]
        server_methods.pow = recorded_pow  # type: ignore[attr-defined]
    global _exact_verify
    if _exact_verify is None:  # installing twice (the benchmark does) wraps the real check once
        _exact_verify = signatures.Ed25519Verifier.verify
    recorded_verify = RecordedVerify(_exact_verify)

    def verify(self: Any, signature: bytes, data: bytes) -> bool:
        return recorded_verify(self, signature, data)

    signatures.Ed25519Verifier.verify = verify  # type: ignore[method-assign]
    _memoize_crypto()
    return Recorded(recorded_pow, recorded_verify)
