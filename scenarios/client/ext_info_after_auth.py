"""Client role: our server sends EXT_INFO after the client authenticated (after USERAUTH_SUCCESS),
which RFC 8308 2.4 does not allow (only after the first NEWKEYS and just before
USERAUTH_SUCCESS). The reaction is not specified: informational."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[ServeSession(), Send(m.ExtInfo(extensions=(("server-sig-algs", b"ssh-ed25519"),))), Observe(1)],
)
