"""Client role: our server's EXT_INFO (RFC 8308 2.3), the first packet after its NEWKEYS, is
malformed: it announces more extensions than it holds, a value runs past the end, or it has no
count at all. RFC 8308 does not say how a client must react; informational: the client's
reaction (it goes on to USERAUTH_REQUEST, or it disconnects) is its pinned outcome."""

from harness.scenario import *

_U32 = (5).to_bytes(4, "big")
_PAYLOADS = {
    "count_too_big": b"\x07" + _U32 + Writer().string(b"server-sig-algs").string(b"ssh-ed25519").getvalue(),
    "truncated_value": b"\x07" + (1).to_bytes(4, "big") + Writer().string(b"server-sig-algs").getvalue()
    + (100).to_bytes(4, "big") + b"ssh-ed25519",
    "no_count": b"\x07",
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"shape": tuple(_PAYLOADS)},
    steps=lambda p: [Handshake(ext_info=False, held_messages=AUTH_HELD), Expect(m.ServiceRequest), Settle(),
                     SendPayload(_PAYLOADS[p["shape"]]), Observe(2)],
)
