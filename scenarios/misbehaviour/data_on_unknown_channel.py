"""CHANNEL_DATA for a channel that was never opened. RFC 4254 does not say what a receiver does
with it (ignore it, UNIMPLEMENTED, disconnect), so the cell is informational: the first
reaction is pinned (channels/unknown_channel has the other channel messages)."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(), Send(m.ChannelData(recipient=4242, data=b"nobody")), Observe(1, ignore=(m.GlobalRequest,))],
)
