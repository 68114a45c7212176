"""A channel request of an unknown type with want_reply must get CHANNEL_FAILURE (RFC 4254 5.4)."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), OpenChannel(), Request(m.ChannelRequest(want_reply=True, request_type="no-such@harness.invalid",
                                                            data=b""), expect=False)],
)
