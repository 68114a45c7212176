"""Sequence numbers after a key re-exchange: with strict kex they restart at 0 after every
NEWKEYS (OpenSSH PROTOCOL, strict key exchange), without it they run on (RFC 4253 6.4: never
reset). After the re-exchange an unrecognised message 35 must get UNIMPLEMENTED naming the
number our side counted (RFC 4253 11.4); a peer counting otherwise would also fail the MAC."""

from harness.scenario import *


class StrictIfAsked(Requirement):
    def check(self, info, params):
        if params["strict"] and "kex-strict-s-v00@openssh.com" not in info.algorithms.get("kex", ()):
            return f"{info.peer_id} does not announce kex-strict-s-v00@openssh.com"
        return None


def _remember_seq(ctx):
    ctx.vars["stimulus"] = ctx.last_sent_seq


SCENARIO = Scenario(
    timeout=3,
    params={"strict": (True, False)},
    requires=[StrictIfAsked()],
    steps=lambda p: [Login(strict_kex=p["strict"]), Rekey(), Send(UnknownMessage(35, b"\x00\x00\x00\x00")),
                     Call(_remember_seq, "remember our packet's sequence number"),
                     Expect(m.Unimplemented, seq=Var("stimulus"), timeout=1.5)],
)
