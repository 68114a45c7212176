"""An identification line longer than 255 bytes including CR LF (RFC 4253 4.2 states that
maximum): the peer must refuse it and end the connection, not negotiate with it. One variant
per total length: just over, clearly over, far over.

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2); the RFC names no code,
and a text line or a plain close (usual before the binary protocol starts) also passes."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    params={"length": (256, 300, 1024)},
    steps=lambda p: [Connect(start=False), SendRaw(b"SSH-2.0-" + b"A" * (p["length"] - 10) + b"\r\n"), StartKex(),
                     ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)],
)
