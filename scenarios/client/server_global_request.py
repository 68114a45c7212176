"""Client role: our server sends the client a GLOBAL_REQUEST with want_reply: OpenSSH's
keepalive@openssh.com, or a name nobody defines. A request the client does not recognise gets
REQUEST_FAILURE (RFC 4254 4); keepalive@openssh.com may also be answered with REQUEST_SUCCESS by a
client that knows it, but it must be answered."""

from harness.scenario import *


def _steps(p):
    name = {"keepalive": "keepalive@openssh.com", "unknown": "no-such-request@harness.invalid"}[p["request"]]
    steps = [ServeSession(), Send(m.GlobalRequest(request_name=name, want_reply=True, data=b""))]
    if p["request"] == "unknown":
        return [*steps, Expect(m.RequestFailure, observe=True)]
    return [*steps, OneOf(failure=[Expect(m.RequestFailure)], success=[Expect(m.RequestSuccess)])]


SCENARIO = Scenario(role=SERVER, params={"request": ("keepalive", "unknown")}, steps=_steps)
