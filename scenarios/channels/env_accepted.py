"""An env request for LANG (the peer is started with AcceptEnv LANG): CHANNEL_SUCCESS,
and the command sees the value."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[PeerOptions(openssh={"extra_config": {"AcceptEnv": "LANG"}}, why="needs AcceptEnv LANG")],
    steps=[Login(), OpenChannel(), Request(m.ChannelRequestEnv(want_reply=True, name="LANG", value="C.UTF-8")),
           Exec("echo $LANG"), ExpectOutput(stdout=b"C.UTF-8\n")],
)
