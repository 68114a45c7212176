"""Data after our EOF violates RFC 4254 5.3; the server must not deliver it to the command (cat
sees EOF and exits without echoing it), or may end the connection."""

from harness.scenario import *


def _not_echoed(ctx):
    if any(isinstance(e, ev.ChannelData) and b"late" in e.data for e in ctx.log):
        raise AssertionError("data sent after our CHANNEL_EOF reached the command and was echoed")


SCENARIO = Scenario(
    steps=[Login(), Session("cat"), SendEof(), Send(m.ChannelData(recipient=Remote(), data=b"late data")),
           OneOf(disconnected=[ExpectClose()], channel_closed=[ExpectEvent(ev.ChannelClosed)]),
           Call(_not_echoed, "the late data was not echoed")],
)
