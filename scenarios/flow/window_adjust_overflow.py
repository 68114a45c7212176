"""WINDOW_ADJUST that takes the peer's send window past 2^32 - 1 (once with 0xffffffff on top of
the initial window, once with two adjusts of 2^31): RFC 4254 5.2 says the window MUST NOT be
increased above 2^32 - 1 but binds the sender only. Informational: the peer's first reaction
(silence, DISCONNECT, channel close) is pinned; the sanity run afterwards notices a crash."""

from harness.scenario import *

ADJUSTS = {"once": (0xFFFFFFFF,), "twice": (0x80000000, 0x80000000)}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"adjust": tuple(ADJUSTS)},
    steps=lambda p: [Login(), Session("cat"),
                     *[Send(m.ChannelWindowAdjust(recipient=Remote(), bytes_to_add=n)) for n in ADJUSTS[p["adjust"]]],
                     Observe(1, ignore=(m.GlobalRequest,))],
)
