"""One flipped bit in a packet's MAC (or AEAD tag): the peer must detect it and disconnect
(MAC_ERROR or PROTOCOL_ERROR if it says why), never process the packet."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), Send(m.Ignore(data=b"x" * 32), FlipMac()),
           ExpectClose(reason=(DisconnectReason.MAC_ERROR, DisconnectReason.PROTOCOL_ERROR))],
)
