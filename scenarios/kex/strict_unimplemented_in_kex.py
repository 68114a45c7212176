"""Strict kex (the Terrapin fix): UNIMPLEMENTED injected during the initial key exchange. Both sides
announced kex-strict, so only kex messages are allowed until NEWKEYS; the peer must disconnect.

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2); the extension names no code."""

from harness.scenario import *

SCENARIO = Scenario(
    strict_kex=True,
    requires=[KexMarker("kex-strict-s-v00@openssh.com")],
    steps=[Connect(), Send(m.Unimplemented(seq=0)),
           ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)],
)
