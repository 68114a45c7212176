"""CHANNEL_DATA for a channel that was never opened: the peer must refuse it (disconnect) or
ignore it; the outcome is recorded."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), Send(m.ChannelData(recipient=4242, data=b"nobody")),
           OneOf(disconnect=[ExpectClose()], unimplemented=[Expect(m.Unimplemented)], timeout=2)],
)
