"""An unknown global request without want_reply: RFC 4254 4 says that when want reply is FALSE no
response is sent, whatever the server makes of the request. Nothing may come back for a second
(OpenSSH's unsolicited hostkeys-00 announcement aside)."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    steps=[Login(), GlobalRequest("no-such-request@harness.invalid", b"\x00\x00\x00\x01x", expect=None),
           ExpectNothing(1, allow=(m.GlobalRequest,))],
)
