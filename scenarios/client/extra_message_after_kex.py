"""Client role: after the first key exchange our server sends IGNORE, DEBUG (also one with
terminal escape sequences, always_display set) or an unknown message number (150; 200 from the
local-extension range, RFC 4250 4.1), before answering the client's SERVICE_REQUEST. IGNORE and
DEBUG must not disturb the client (RFC 4253 11.2, 11.3: it goes on to USERAUTH_REQUEST once the
service is accepted); an unknown number gets UNIMPLEMENTED naming our packet (11.4)."""

from harness.scenario import *

_STIMULUS = {
    "ignore": m.Ignore(data=b"\x00" * 64),
    "debug": m.Debug(always_display=False, message="harness debug message", language=""),
    "debug_escape": m.Debug(always_display=True, message="\x1b[2J\x1b]0;harness-owned\x07debug", language=""),
    "unknown150": UnknownMessage(150, b"\x00\x00\x00\x00"),
    "unknown200": UnknownMessage(200, b"\x00\x00\x00\x00"),  # the local-extension range (RFC 4250 4.1)
}


def _steps(p):
    head = [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest), Send(_STIMULUS[p["message"]])]
    if p["message"].startswith("unknown"):
        return [*head, Expect(m.Unimplemented, seq=SentSeq())]
    # The client went on: it takes the service accept, and after a failure asks again.
    return [*head, SendServiceAccept(), ExpectUserauthRequest(), Settle(),
            Send(m.UserauthFailure(methods=("publickey", "password"), partial_success=False)), ExpectUserauthRequest()]


SCENARIO = Scenario(role=SERVER, params={"message": tuple(_STIMULUS)}, steps=_steps)
