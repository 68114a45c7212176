"""Client role: our server sends DISCONNECT with each reason code of RFC 4253 11.1 while the client
waits for SERVICE_ACCEPT. After a DISCONNECT the recipient MUST NOT send any more messages: the
client must close the connection without a word."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    params={"reason": tuple(range(1, 16))},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest), Wait(0.3),
                     Send(m.Disconnect(reason=p["reason"], description=f"harness disconnect {p['reason']}",
                                       language="")), ExpectHangUp()],
)
