"""Client role: after login our server re-exchanges keys with a different Ed25519 host key.
RFC 4253 9 does not say a re-exchange must keep the host key (OpenSSH's client refuses a change);
informational: what each client does is its pinned outcome."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[ServeSession(), SwapHostKey(), Rekey(wait=False),
           OneOf(timeout=5, completed=[ExpectKexComplete(timeout=5)], ended=[ExpectClose(timeout=5)])],
)
