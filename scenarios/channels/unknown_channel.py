"""Channel messages for a channel number that was never opened (4242): a request with
want_reply, EOF, CLOSE, WINDOW_ADJUST and extended data (plain CHANNEL_DATA is
misbehaviour/data_on_unknown_channel). RFC 4254 does not say what a receiver does with them,
so the cells are informational: the first reaction (CHANNEL_FAILURE, UNIMPLEMENTED, DISCONNECT,
silence) is pinned."""

from harness.scenario import *

MESSAGES = {
    "request": m.ChannelRequest(recipient=4242, request_type="exit-status", want_reply=True, data=b"\x00" * 4),
    "eof": m.ChannelEof(recipient=4242),
    "close": m.ChannelClose(recipient=4242),
    "window_adjust": m.ChannelWindowAdjust(recipient=4242, bytes_to_add=1024),
    "extended_data": m.ChannelExtendedData(recipient=4242, data_type=1, data=b"nobody"),
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"message": tuple(MESSAGES)},
    steps=lambda p: [Login(), Send(MESSAGES[p["message"]]), Observe(1, ignore=(m.GlobalRequest,))],
)
