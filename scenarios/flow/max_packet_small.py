"""Tiny maximum packet sizes in our CHANNEL_OPEN (1 and 16 bytes): RFC 4254 5.1 says the peer
must not send a data packet bigger than that, so 100 bytes of output must arrive complete in
pieces of at most that size (any bigger piece is recorded as a violation and fails the check)."""

from harness.scenario import *


def _no_violation(ctx):
    bad = [e for e in ctx.log if isinstance(e, ev.PeerViolation)]
    if bad:
        raise AssertionError(f"the peer broke our limits: {bad[0].description}")


SCENARIO = Scenario(
    timeout=3,
    params={"max_packet": (1, 16)},
    steps=lambda p: [Login(max_packet=p["max_packet"]), Session("head -c 100 /dev/zero"),
                     ExpectOutput(stdout=b"\x00" * 100, timeout=2), Call(_no_violation, "no packet over the maximum")],
)
