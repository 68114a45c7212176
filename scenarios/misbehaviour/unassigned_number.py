"""Message numbers never assigned (RFC 4253 11.4): the peer must answer with UNIMPLEMENTED naming
our packet's sequence number, or disconnect; what each peer does is recorded per peer."""

from harness.scenario import *

SCENARIO = Scenario(
    params={"number": (8, 19, 110, 150, 200, 255)},
    steps=lambda p: [Login(), Send(UnknownMessage(p["number"], b"\x00\x00")),
                     OneOf(unimplemented=[Expect(m.Unimplemented, seq=SentSeq())], disconnect=[ExpectClose()])],
)
