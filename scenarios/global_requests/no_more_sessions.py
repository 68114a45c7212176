"""no-more-sessions@openssh.com: after it, the server must refuse any further session channel
(OpenSSH treats an attempt as an attack and may disconnect). Either reaction is recorded."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[Product(("openssh",), "an OpenSSH extension")],
    steps=[Login(), GlobalRequest("no-more-sessions@openssh.com", expect=None), OpenChannel(expect=None),
           OneOf(refused=[Expect(m.ChannelOpenFailure)], disconnected=[ExpectClose()])],
)
