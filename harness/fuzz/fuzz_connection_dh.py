"""Fuzz target: the connection state machine in the finite-field Diffie-Hellman phases.

The same target as :mod:`harness.fuzz.fuzz_connection` (same input format, same oracle),
restricted to the phases marked ``slow``: a first key exchange with diffie-hellman-group14
and with group exchange, where every input that carries a well-formed reply or group costs
milliseconds of Python big-integer arithmetic. Apart, they get their own campaign time
instead of starving the cheap phases of the main connection fuzzer.

Speed in a campaign: *recorded* modular exponentiation and signature checks
(:mod:`harness.fuzz.recorded`), learned from the phases and the seed corpus before the
campaign starts; why that keeps the fuzzing faithful is explained there. Set
``HARNESS_FUZZ_EXACT=1`` for exact arithmetic on every input (about 170 exec/s instead of
thousands). The test suite's replay always calls :func:`fuzz_one_input` exactly: ``main`` is
the only place the recorders go in.
"""

from __future__ import annotations

import sys

from harness.fuzz.fuzz_connection import Selection, prepare_campaign, run_input

# Packets per input: the reply (or group and reply), NEWKEYS and what comes right after it.
# This fuzzer's phases end with the first key exchange; everything later in a recorded session
# is the connection fuzzer's (its userauth and connected phases start there, without
# milliseconds of DH per input), and carrying whole sessions here made a quarter of each input.
MAX_RECORDS = 6
SLOW = Selection.of(slow=True, max_records=MAX_RECORDS)


def fuzz_one_input(data: bytes) -> None:
    run_input(data, SLOW)


def prepare(inputs: list[bytes]) -> None:
    """This fuzzer's campaign set-up: big-integer pow and signature checks learned."""
    prepare_campaign(fuzz_one_input, SLOW, True, inputs)


def main() -> None:
    from harness.fuzz.common import corpus_inputs, run

    prepare(corpus_inputs())
    run(fuzz_one_input)


if __name__ == "__main__":
    main()
    sys.exit(0)
