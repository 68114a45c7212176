"""A padding_length below the minimum of 4 (0, 2, 3) or larger than the packet (255): RFC 4253 6
says there MUST be at least four bytes of padding, and padding_length must fit the packet, so the
peer must reject the packet and end the connection.

Acceptable reasons if it sends a DISCONNECT: PROTOCOL_ERROR (2) (a framing rule broken) or
MAC_ERROR (5) (with encrypt-and-MAC the lie may first show as a MAC failure)."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    params={"padding": (0, 2, 3, 255)},
    steps=lambda p: [Login(), Send(m.Ignore(data=b"x" * 16), PaddingLength(p["padding"])),
                     ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR, DisconnectReason.MAC_ERROR), timeout=1.5)],
)
