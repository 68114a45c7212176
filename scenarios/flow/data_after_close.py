"""CHANNEL_DATA after our own CHANNEL_CLOSE, before the peer's CLOSE: RFC 4254 5.3 says a party
MUST NOT send data after CLOSE, and says nothing of a receiver that gets some. Informational:
the peer's first reaction besides its own CLOSE/EOF/exit status is pinned."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(), Session("cat"), CloseChannel(wait=False), Send(m.ChannelData(recipient=Remote(), data=b"late")),
           Observe(1, ignore=(m.GlobalRequest, m.ChannelClose, m.ChannelEof, m.ChannelRequest))],
)
