"""Client role: our server's EXT_INFO lists server-sig-algs without the RSA SHA-2 names
(only "ssh-rsa,ssh-dss"). RFC 8332 3.3 lets a client still try rsa-sha2-* (or fall back); the
client's next step is informational: what it did after the service was accepted."""

from harness.scenario import *

_EXT = m.ExtInfo(extensions=(("server-sig-algs", b"ssh-rsa,ssh-dss"),))

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[Handshake(ext_info=False, held_messages=frozenset({5})), Expect(m.ServiceRequest), Send(_EXT),
           SendServiceAccept(), Observe(2)],
)
