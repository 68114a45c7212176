"""Client role: our server sends USERAUTH_SUCCESS the client never asked for: in place of
SERVICE_ACCEPT (before any authentication request), or a second time after a first success
answered its request. RFC 4252 does not say how a client reacts to a success it never asked
for; informational (a client that takes the first one opens its session without
authenticating)."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"when": ("instead_of_accept", "twice")},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest),
                     *([SendServiceAccept(), ExpectUserauthRequest(), SendAuthSuccess()]
                       if p["when"] == "twice" else []),
                     Settle(), SendAuthSuccess(), Observe(2)],
)
