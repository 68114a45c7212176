"""Client role: the client asked for "ssh-userauth"; our server accepts another service
("ssh-connection", or one that does not exist). RFC 4253 10 does not say what the client must do
with an accept for a service it did not ask for; informational."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"service": ("ssh-connection", "nonexistent@harness.invalid")},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest), Settle(),
                     SendServiceAccept(p["service"]),
                     Observe(2)],
)
