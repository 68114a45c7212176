"""Server role sanity: a client peer connects to our server, completes the key exchange and asks
for the ssh-userauth service."""

from harness.scenario import *

SCENARIO = Scenario(role=SERVER, steps=[Handshake(), Expect(m.ServiceRequest, service="ssh-userauth")])
