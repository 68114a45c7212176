"""A padding_length below the minimum of 4 or larger than the packet (RFC 4253 6): the peer
must reject the packet and disconnect."""

from harness.scenario import *

SCENARIO = Scenario(
    params={"padding": (2, 255)},
    steps=lambda p: [Login(), Send(m.Ignore(data=b"x" * 16), PaddingLength(p["padding"])), ExpectClose()],
)
