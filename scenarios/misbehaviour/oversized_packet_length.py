"""A packet_length far beyond any limit (2^31): the peer must disconnect rather than try to
buffer it.

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2), a framing rule broken (RFC
4253 6.1 names no code)."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Send(m.Ignore(data=b"x" * 64), PacketLength(0x7FFFFFF0)),
           ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)])
