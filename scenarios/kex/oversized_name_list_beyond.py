"""A KEXINIT of about 64 KB (2400 unknown kex names before the real ones): past the 32768-byte
payload and 35000-byte packet every implementation must handle (RFC 4253 6.1), where a peer
SHOULD check that the length is reasonable. The RFC leaves the choice (process or refuse) to
the peer, so the cell is informational; it must not crash (the sanity run afterwards checks)."""

from harness.scenario import *


def _huge(msg, ctx):
    junk = tuple(f"junk-{i:05d}@harness.invalid" for i in range(2400))
    msg.kex_algorithms = junk + tuple(msg.kex_algorithms)
    return msg


SCENARIO = Scenario(informational=True, timeout=3,
                    steps=[Connect(kexinit=_huge), Observe(1, ignore=(m.KexInit,))])
