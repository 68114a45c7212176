"""keepalive@openssh.com without want_reply: no answer may come, and the connection keeps working."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), GlobalRequest("keepalive@openssh.com", expect=None),
           ExpectNothing(0.5, allow=(m.GlobalRequest,)),  # OpenSSH's hostkeys-00 announcement may come
           Alive()],
)
