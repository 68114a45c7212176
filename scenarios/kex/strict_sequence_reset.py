"""Strict kex resets sequence numbers at NEWKEYS: after the handshake our SERVICE_REQUEST has
sequence number 0 and the next packet 1. The peer's UNIMPLEMENTED for an unassigned message
number must name sequence number 1 (not 1 + the handshake's packets)."""

from harness.scenario import *

SCENARIO = Scenario(
    strict_kex=True,
    requires=[KexMarker("kex-strict-s-v00@openssh.com")],
    steps=[Handshake(), Expect(m.ServiceAccept), Send(UnknownMessage(8)), Expect(m.Unimplemented, seq=1)],
)
