"""An env request for a variable the server does not accept must get CHANNEL_FAILURE (and the
session stays usable)."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), OpenChannel(), Request(m.ChannelRequestEnv(want_reply=True, name="HARNESS_SURELY_NOT_ACCEPTED",
                                                               value="1"), expect=False),
           Exec("echo ok"), ExpectOutput(stdout=b"ok\n")],
)
