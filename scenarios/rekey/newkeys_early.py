"""NEWKEYS right after our KEXINIT of a re-exchange, before any key exchange message: no new keys
exist yet, so the peer cannot switch to them (RFC 4253 7.3: NEWKEYS is sent after the key
exchange). It must refuse the message: UNIMPLEMENTED naming our packet (RFC 4253 11.4: not
processed, the keys stay) or a disconnect; silence or going on as if keys had changed is wrong.
Which of the two each peer does is recorded (kex/newkeys_before_reply: the first exchange).

Acceptable reason if it disconnects: PROTOCOL_ERROR (2); the RFC names no code, and a message
out of order is what 2 stands for."""

from harness.scenario import *


def _remember_seq(ctx):
    ctx.vars["stimulus"] = ctx.last_sent_seq


SCENARIO = Scenario(
    timeout=3,
    steps=[Login(), Rekey(wait=False), Send(m.NewKeys()), Call(_remember_seq, "remember our packet's sequence number"),
           OneOf(unimplemented=[Expect(m.Unimplemented, seq=Var("stimulus"))],
                 disconnect=[ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,))], timeout=1.5)],
)
