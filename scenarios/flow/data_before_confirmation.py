"""CHANNEL_DATA sent right after our CHANNEL_OPEN, before the confirmation told us the peer's
channel number (we guess 0). RFC 4254 5.1 gives us the recipient number only in the
confirmation, so the data is addressed blindly; the RFC does not say what the peer does with
it. Informational: the first reaction after the confirmation is pinned."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(), OpenChannel(expect=None), Send(m.ChannelData(recipient=0, data=b"too early")),
           Observe(1, ignore=(m.GlobalRequest, m.ChannelOpenConfirmation))],
)
