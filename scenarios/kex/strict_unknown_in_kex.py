"""Strict kex (the Terrapin fix): an unassigned message number (110, 200, 255) during the initial
key exchange. Both sides announced kex-strict, so only key exchange messages are allowed until
NEWKEYS and the peer must end the connection (OpenSSH PROTOCOL, "strict key exchange extension").

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2); the extension names no
code, and a message the protocol does not allow here is what 2 stands for."""

from harness.scenario import *

SCENARIO = Scenario(
    strict_kex=True,
    timeout=3,
    params={"number": (110, 200, 255)},
    requires=[KexMarker("kex-strict-s-v00@openssh.com")],
    steps=lambda p: [Connect(), Send(UnknownMessage(p["number"], b"\x00\x00\x00\x00")),
                     ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)],
)
