"""No identification line at all: the client starts with a binary packet. The client MUST send
its identification line first (RFC 4253 4.2), so the server cannot go on: it must close.

Acceptable reasons if it sends a DISCONNECT: PROTOCOL_ERROR (2) or PROTOCOL_VERSION_NOT_SUPPORTED
(8) (the RFC names none; those two describe a missing version); a text line or a plain close also
passes."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    steps=[Connect(start=False), SendRaw(b"\x00\x00\x00\x0c\x0a\x14" + bytes(10) + b"\r\n"),
           ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR, DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED))],
)
