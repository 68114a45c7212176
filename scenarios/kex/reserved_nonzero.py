"""KEXINIT with the reserved uint32 set to 0xdeadbeef. RFC 4253 7.1 calls it "0 (reserved for
future extension)" without telling receivers to check or ignore it; the exchange hash covers it
either way. Informational: the pinned outcome says whether the peer negotiates or refuses."""

from harness.scenario import *


def _reserved(msg, ctx):
    msg.reserved = 0xDEADBEEF
    return msg


SCENARIO = Scenario(informational=True, timeout=3,
                    steps=[Connect(kexinit=_reserved), Observe(1, ignore=(m.KexInit,))])
