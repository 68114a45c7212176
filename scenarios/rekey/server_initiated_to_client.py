"""Server role: our server starts a key re-exchange right after the first one, before user
authentication; the client peer must take part in it (RFC 4253 9: either side may rekey at any time)."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    steps=[Handshake(), Rekey(), KexCount(2)],
)
