"""A packet with an empty payload (only padding), so it has no message number at all. RFC 4253 6
does not say what a receiver does with one; informational, the first reaction (UNIMPLEMENTED,
DISCONNECT, close, silence) is pinned. Sent during authentication and after it."""

from harness.scenario import *

PHASES = {"auth": [Handshake(), Expect(m.ServiceAccept)], "connected": [Login()]}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"phase": tuple(PHASES)},
    steps=lambda p: [*PHASES[p["phase"]], SendPayload(b""), Observe(1, ignore=(m.GlobalRequest,))],
)
