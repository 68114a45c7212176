"""A kex name-list of about 30 KB (1100 unknown names, then the real ones) in a KEXINIT whose
payload stays under 32768 bytes: RFC 4253 6.1 says every implementation MUST be able to process
packets with a payload of 32768 bytes or less, and 7.1 that unknown names are skipped, so the
peer must negotiate normally."""

from harness.scenario import *


def _huge(msg, ctx):
    junk = tuple(f"junk-{i:05d}@harness.invalid" for i in range(1100))
    msg.kex_algorithms = junk + tuple(msg.kex_algorithms)
    assert len(msg.encode()) <= 32768
    return msg


SCENARIO = Scenario(timeout=3, steps=[Connect(kexinit=_huge), WaitKex(timeout=3)])
