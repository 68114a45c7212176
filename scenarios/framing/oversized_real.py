"""A real packet (an IGNORE, every byte sent) beyond the sizes RFC 4253 6.1 makes mandatory: a
40000-byte payload (past 32768, in a packet past 35000) and a 300000-byte one. The RFC lets a
peer accept larger packets and says it SHOULD check that the length is reasonable, so the cell
is informational: whether the peer reads it and goes on (answering the unrecognised message 35
that follows with UNIMPLEMENTED) or disconnects is pinned."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"payload": (40000, 300000)},
    steps=lambda p: [Login(), Send(m.Ignore(data=b"\x5a" * (p["payload"] - 5))),
                     Send(UnknownMessage(35, b"")), Observe(1, ignore=(m.GlobalRequest,))],
)
