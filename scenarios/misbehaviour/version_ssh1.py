"""An SSH-1.5 client: protocol 1 is not spoken by SSH-2-only servers (RFC 4253 5.1: only a
server in compatibility mode can revert to it); the peer must refuse and close.

Acceptable reason: PROTOCOL_VERSION_NOT_SUPPORTED (8), the code RFC 4250 4.2.2 names for it; a
text line ("Protocol major versions differ") or a plain close also passes."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    steps=[Connect(start=False), SendRaw(b"SSH-1.5-harness\r\n"),
           ExpectClose(reason=(DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,), timeout=1.5)],
)
