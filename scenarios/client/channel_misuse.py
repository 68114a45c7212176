"""Client role: during the client's command our server misuses the session channel: data past
the window the client granted, data for a channel that does not exist, data after its own EOF,
a WINDOW_ADJUST that takes the window past 2^32-1 (RFC 4254 5.2: MUST NOT), or extended data of
an undefined type. RFC 4254 names no reaction for any of these (5.2 lets a receiver ignore data
beyond the window): informational, the client's reaction is its pinned outcome."""

from harness.scenario import *

_MISUSE = {
    "beyond_window": [Overfill(4096)],
    "unknown_channel": [Send(m.ChannelData(recipient=0x7FFF0000, data=b"to nowhere"))],
    "after_eof": [SendEof(), Send(m.ChannelData(recipient=Remote("ch"), data=b"after our EOF"))],
    "window_overflow": [Send(m.ChannelWindowAdjust(recipient=Remote("ch"), bytes_to_add=0xFFFFFFF0)),
                        Send(m.ChannelWindowAdjust(recipient=Remote("ch"), bytes_to_add=0xFFFFFFF0))],
    "extended_type_7": [Send(m.ChannelExtendedData(recipient=Remote("ch"), data_type=7, data=b"type 7"))],
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"misuse": tuple(_MISUSE)},
    steps=lambda p: [ServeSession(), *_MISUSE[p["misuse"]], Observe(2)],
)
