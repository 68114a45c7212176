"""Reordered TCP bytes: the first 4 bytes of a packet arrive after the rest, so the length field
is garbage. The peer must disconnect rather than misparse.

Acceptable reasons if the peer sends a DISCONNECT: PROTOCOL_ERROR (2) for the impossible length, or
MAC_ERROR (5) where the garbled packet first fails its MAC."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Send(m.Ignore(data=b"x" * 100), Reorder(hold=4)),
           ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR, DisconnectReason.MAC_ERROR), timeout=1.5)])
