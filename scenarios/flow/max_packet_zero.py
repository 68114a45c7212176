"""A CHANNEL_OPEN with a maximum packet size of 0, so the peer could never send us data. RFC 4254
5.1 sets no minimum; the peer may refuse the channel or open it and hold its output.
Informational: its first reaction after an exec of `echo hello` is pinned."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(max_packet=0), OpenChannel(expect=None),
           Observe(1, ignore=(m.GlobalRequest, m.ChannelOpenConfirmation))],
)
