"""The Terrapin prefix truncation check: an IGNORE sent before our KEXINIT shifts the sequence
numbers. With strict kex the KEXINIT must be the first packet, so the peer must disconnect.

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2); the extension names no code."""

from harness.scenario import *

SCENARIO = Scenario(
    strict_kex=True,
    requires=[KexMarker("kex-strict-s-v00@openssh.com")],
    steps=[Connect(start=False), SendVersion(), Send(m.Ignore(data=b"")), StartKex(),
           ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)],
)
