"""Client role: while the client waits for SERVICE_ACCEPT our server closes TCP in the middle of
a packet (the first 3 bytes of its length), or between packets without a DISCONNECT. RFC 4253
names no reaction to a lost connection: informational (a client should end with an error, not
hang or crash)."""

from harness.scenario import *

_ENDINGS = {
    "mid_packet": [Send(m.ServiceAccept(service="ssh-userauth"), Drop(start=3)), ShutdownWrite()],
    "between_packets": [ShutdownWrite()],
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"ending": tuple(_ENDINGS)},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest), Settle(),
                     *_ENDINGS[p["ending"]], Observe(3)],
)
