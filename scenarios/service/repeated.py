"""The same SERVICE_REQUEST ssh-userauth twice (the second after its SERVICE_ACCEPT, before any
authentication request), and "ssh-connection" requested after authentication succeeded (the
service starts implicitly there, RFC 4252 5.1). RFC 4253 10 does not say what a server does
with a request for a service that already runs, so the cells are informational: the first
reaction (a second SERVICE_ACCEPT, UNIMPLEMENTED, DISCONNECT, silence) is pinned."""

from harness.scenario import *

CASES = {
    "userauth_twice": lambda: [Handshake(), Expect(m.ServiceAccept), Send(m.ServiceRequest(service="ssh-userauth"))],
    "connection_after_auth": lambda: [Login(), Send(m.ServiceRequest(service="ssh-connection"))],
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"case": tuple(CASES)},
    steps=lambda p: [*CASES[p["case"]](), Observe(1, ignore=(m.GlobalRequest,))],
)
