"""CHANNEL_EXTENDED_DATA with data_type 2 (RFC 4254 5.2 defines only 1, stderr) to a session
running cat. The RFC does not say what a receiver does with an unknown type. Informational: the
first reaction (silence, UNIMPLEMENTED, a channel close, DISCONNECT) is pinned."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(), Session("cat"),
           Send(m.ChannelExtendedData(recipient=Remote(), data_type=2, data=b"unknown stream")),
           Observe(1, ignore=(m.GlobalRequest,))],
)
