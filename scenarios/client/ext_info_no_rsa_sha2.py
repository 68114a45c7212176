"""Client role: our server's EXT_INFO lists server-sig-algs without the RSA SHA-2 names (only
"ssh-rsa,ssh-dss"), then it asks for publickey authentication. RFC 8332 3.3 lets a client still
try rsa-sha2-* or fall back; what the client does next (its publickey request, or giving up) is
informational."""

from harness.scenario import *

_EXT = m.ExtInfo(extensions=(("server-sig-algs", b"ssh-rsa,ssh-dss"),))

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[Handshake(ext_info=False, held_messages=AUTH_HELD), Expect(m.ServiceRequest), Send(_EXT),
           SendServiceAccept(), ExpectUserauthRequest(), Settle(),
           Send(m.UserauthFailure(methods=("publickey",), partial_success=False)), Observe(2)],
)
