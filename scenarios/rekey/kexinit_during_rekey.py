"""A second KEXINIT while a key re-exchange we started is running (RFC 4253 7.1: further KEXINIT
messages MUST NOT be sent until NEWKEYS). The rule binds the sender; what a receiver does
(disconnect, ignore, restart) is not said, so the cell is informational: the first reaction
other than the peer's own KEXINIT and kex reply is pinned. (kex/kexinit_repeated is the same
in the first exchange.)"""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(), Rekey(wait=False), Send(lambda ctx: ctx.conn.kex.build_kexinit()),
           Observe(1, ignore=(m.KexInit, m.KexEcdhReply, m.GlobalRequest))],
)
