"""Fuzz target: the connection state machine in the finite-field Diffie-Hellman phases.

The same target as :mod:`harness.fuzz.fuzz_connection` (same input format, same oracle),
restricted to the phases marked ``slow``: a first key exchange with diffie-hellman-group14
and with group exchange, where every input that carries a well-formed reply or group costs
milliseconds of Python big-integer arithmetic. Apart, they get their own campaign time
instead of starving the cheap phases of the main connection fuzzer.
"""

from __future__ import annotations

import sys

from harness.fuzz.fuzz_connection import Selection, build_all, run_input

SLOW = Selection.of(slow=True)


def fuzz_one_input(data: bytes) -> None:
    run_input(data, SLOW)


def main() -> None:
    from harness.fuzz.common import run

    build_all(SLOW)
    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
