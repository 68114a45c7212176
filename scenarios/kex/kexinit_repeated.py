"""A second KEXINIT while the first key exchange runs is a protocol violation (RFC 4253 7.1):
the peer must not start over or get confused. It must refuse the message: UNIMPLEMENTED naming
our packet (RFC 4253 11.4: not processed) or an end of the connection; which of the two each
peer does is recorded. Answering as if a new exchange began, or silence, fails.

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2); the RFC names no code, and a
message the protocol forbids here is what 2 stands for."""

from harness.scenario import *


def _remember_seq(ctx):
    ctx.vars["stimulus"] = ctx.last_sent_seq


SCENARIO = Scenario(
    timeout=3,
    steps=[Connect(), Send(lambda ctx: ctx.conn.kex.build_kexinit()),
           Call(_remember_seq, "remember our packet's sequence number"),
           OneOf(unimplemented=[Expect(m.Unimplemented, seq=Var("stimulus"))],
                 disconnect=[ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,))], timeout=1.5)],
)
