"""Client role: our server sends EXT_INFO twice in a row after its first NEWKEYS. RFC 8308 2.4
allows a second EXT_INFO only just before USERAUTH_SUCCESS; how a client reacts to one elsewhere
is not said. Informational: the pinned outcome is what the client did next."""

from harness.scenario import *

_EXT = m.ExtInfo(extensions=(("server-sig-algs", b"ssh-ed25519,rsa-sha2-512,rsa-sha2-256"),))

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[Handshake(ext_info=False, held_messages=frozenset({5})), Expect(m.ServiceRequest), Send(_EXT), Send(_EXT),
           SendServiceAccept(), Observe(2)],
)
