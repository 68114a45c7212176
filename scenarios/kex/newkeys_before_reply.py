"""NEWKEYS right after our KEXINIT, before any key exchange message: no keys exist yet, so the
peer must refuse it instead of switching to undefined keys: UNIMPLEMENTED naming our packet
(RFC 4253 11.4: not processed, no keys taken) or an end of the connection; which of the two each
peer does is recorded. Silence or going on as if keys had changed fails.

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2); the RFC names no code, and a
message out of order is what 2 stands for."""

from harness.scenario import *


def _remember_seq(ctx):
    ctx.vars["stimulus"] = ctx.last_sent_seq


SCENARIO = Scenario(
    timeout=3,
    steps=[Connect(), Send(m.NewKeys()), Call(_remember_seq, "remember our packet's sequence number"),
           OneOf(unimplemented=[Expect(m.Unimplemented, seq=Var("stimulus"))],
                 disconnect=[ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,))], timeout=1.5)],
)
