"""Client role: our server sends EXT_INFO twice in a row after its first NEWKEYS. RFC 8308 2.4
allows a second EXT_INFO only just before USERAUTH_SUCCESS; how a client reacts to one elsewhere
is not said. Informational: the pinned outcome is what the client did next."""

from harness.scenario import *

_EXT = m.ExtInfo(extensions=(("server-sig-algs", b"ssh-ed25519,rsa-sha2-512,rsa-sha2-256"),))

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[Handshake(ext_info=False, held_messages=AUTH_HELD), Expect(m.ServiceRequest), Settle(), Send(_EXT),
           Send(_EXT), Observe(2)],
)
