"""Replies nobody asked for: CHANNEL_OPEN_CONFIRMATION and CHANNEL_OPEN_FAILURE for a channel the
peer never opened, CHANNEL_SUCCESS and CHANNEL_FAILURE on an open session with no request
pending, REQUEST_SUCCESS and REQUEST_FAILURE with no global request pending. RFC 4254 does not
say what a receiver does with them, so the cells are informational: the first reaction
(silence, UNIMPLEMENTED, DISCONNECT) is pinned."""

from harness.scenario import *

MESSAGES = {
    "open_confirmation": m.ChannelOpenConfirmation(recipient=4242, sender=7, initial_window=32768,
                                                   max_packet=32768, data=b""),
    "open_failure": m.ChannelOpenFailure(recipient=4242, reason=2, description="nobody asked", language=""),
    "channel_success": m.ChannelSuccess(recipient=Remote()),
    "channel_failure": m.ChannelFailure(recipient=Remote()),
    "request_success": m.RequestSuccess(data=b""),
    "request_failure": m.RequestFailure(),
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"message": tuple(MESSAGES)},
    steps=lambda p: [Login(), Session("cat"), Send(MESSAGES[p["message"]]), Observe(1, ignore=(m.GlobalRequest,))],
)
