"""A packet_length far beyond any limit (2^31): the peer must disconnect rather than try to
buffer it."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Send(m.Ignore(data=b"x" * 64), PacketLength(0x7FFFFFF0)), ExpectClose()])
