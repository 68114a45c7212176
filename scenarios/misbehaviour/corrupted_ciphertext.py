"""One flipped bit inside the encrypted payload: integrity protection must catch it; the peer
disconnects."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), Send(m.Ignore(data=b"x" * 64), FlipCiphertext(offset=24)),
           ExpectClose(reason=(DisconnectReason.MAC_ERROR, DisconnectReason.PROTOCOL_ERROR))],
)
