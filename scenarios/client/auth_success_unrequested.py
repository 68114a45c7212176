"""Client role: our server sends USERAUTH_SUCCESS before the client made any authentication
request: in place of SERVICE_ACCEPT, or right after it (before the client's first
USERAUTH_REQUEST can arrive). RFC 4252 does not say how a client reacts to a success it never
asked for; informational (a client that takes it opens its session without authenticating)."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"when": ("instead_of_accept", "with_accept")},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest),
                     *([SendServiceAccept()] if p["when"] == "with_accept" else []), SendAuthSuccess(), Observe(2)],
)
