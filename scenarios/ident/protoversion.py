"""A client announcing a protocol version other than 2.0 (RFC 4253 4.2: protoversion MUST be
"2.0"; 5.1: a server that does not speak the old protocol cannot revert to it). The server must
not go on with SSH-2 as if nothing happened: it ends the connection.

Acceptable reason: PROTOCOL_VERSION_NOT_SUPPORTED (8), the code RFC 4250 4.2.2 names for
exactly this; a text line ("Protocol major versions differ") or a plain close also passes."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    params={"version": ("1.0", "3.0")},
    steps=lambda p: [Connect(start=False), SendRaw(f"SSH-{p['version']}-harness\r\n".encode()), StartKex(),
                     ExpectClose(reason=(DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,), timeout=1.5)],
)
