"""Fuzz target: the connection state machine in the finite-field Diffie-Hellman phases.

The same target as :mod:`harness.fuzz.fuzz_connection` (same input format, same oracle),
restricted to the phases marked ``slow``: a first key exchange with diffie-hellman-group14
and with group exchange, where every input that carries a well-formed reply or group costs
milliseconds of Python big-integer arithmetic. Apart, they get their own campaign time
instead of starving the cheap phases of the main connection fuzzer.

Speed in a campaign: *recorded* modular exponentiation. A campaign (``main``) replaces the
``pow`` the kex modules call with :class:`RecordedPow`: exact for every (base, exponent,
modulus) seen while the phases were built and the seed corpus was run once, and a cheap
stand-in for any other. Why that keeps the fuzzing faithful: a mutated server value (f, or a
group-exchange p/g) changes the exchange hash H that the server's host key signed, so the
signature check fails whatever K is, exactly as with real arithmetic; every check *before*
the exponentiation (ranges, bit sizes, parity) runs unchanged, and every recorded value, which
is what leads past the signature to NEWKEYS, still gets the exact result. What is lost is only
the value of a K that nothing can use. Set ``HARNESS_FUZZ_EXACT_DH=1`` for exact arithmetic on
every input (about 170 exec/s instead of thousands). The test suite's replay always calls
:func:`fuzz_one_input` with exact arithmetic: ``main`` is the only place the stand-in goes in.
"""

from __future__ import annotations

import builtins
import os
import sys
from pathlib import Path

from harness.fuzz.fuzz_connection import Selection, build_all, run_input

SLOW = Selection.of(slow=True)
EXACT_ENV = "HARNESS_FUZZ_EXACT_DH"
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


def install_recorded_pow() -> RecordedPow:
    """Put a :class:`RecordedPow` in place of ``pow`` in the client and server kex modules."""
    from harness.ssh.kex import methods, server_methods

    recorded = RecordedPow()
    methods.pow = recorded  # type: ignore[attr-defined]
    server_methods.pow = recorded  # type: ignore[attr-defined]
    return recorded


def _seed_files() -> list[Path]:
    """The seed inputs given on the command line (libFuzzer's corpus directories)."""
    files: list[Path] = []
    for arg in sys.argv[1:]:
        path = Path(arg)
        if not arg.startswith("-") and path.is_dir():
            files.extend(p for p in sorted(path.iterdir()) if p.is_file())
    return files


def fuzz_one_input(data: bytes) -> None:
    run_input(data, SLOW)


def main() -> None:
    from harness.fuzz.common import run

    recorded = None if os.environ.get(EXACT_ENV) == "1" else install_recorded_pow()
    build_all(SLOW)
    if recorded is not None:
        for path in _seed_files():  # learn the exact values the corpus leads to
            fuzz_one_input(path.read_bytes())
        recorded.recording = False
    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
