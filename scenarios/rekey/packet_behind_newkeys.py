"""Our NEWKEYS of a key re-exchange and the packet after it arrive in one TCP segment. Packet
boundaries are in the byte stream, not in how it was segmented (RFC 4253 6), so a peer must
process every packet it has read: after the exchange it answers the packet that came with our
NEWKEYS at once. Variants: that packet is a KEXINIT starting the next re-exchange (the peer's
KEXINIT and a completed exchange must follow), a CHANNEL_OPEN (a confirmation must follow), or
100 bytes of data on a session running `cat` (they must come back).

A peer that reads both packets, finishes the exchange and then waits for more bytes before
looking at what it already holds stays silent here; rekey/many_in_a_row meets the same
situation only when timing puts two packets in one read."""

from harness.scenario import *


def _behind_newkeys(packet: str) -> list:
    if packet == "kexinit":
        return [Rekey(wait=False), ReleaseHeld(), WaitKex(timeout=3), KexCount(3)]
    if packet == "channel_open":
        return [OpenChannel(expect=None), ReleaseHeld(), Expect(m.ChannelOpenConfirmation, timeout=3)]
    return [SendData(100), ReleaseHeld(), ExpectData(lambda data: len(data) >= 100, description="the 100 bytes echoed")]


SCENARIO = Scenario(
    timeout=3,
    params={"packet": ("kexinit", "channel_open", "channel_data")},
    steps=lambda p: [Login(), *([Session("cat")] if p["packet"] == "channel_data" else []), HoldAfterNewKeys(),
                     Rekey(), *_behind_newkeys(p["packet"])],
)
