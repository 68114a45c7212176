"""A kex name-list of about 30 KB (1500 unknown names, then the real ones) inside a legal packet:
the peer may negotiate normally or refuse, but must not crash or hang. The outcome is recorded."""

from harness.scenario import *


def _huge(msg, ctx):
    junk = tuple(f"junk-{i:05d}@harness.invalid" for i in range(1500))
    msg.kex_algorithms = junk + tuple(msg.kex_algorithms)
    return msg


SCENARIO = Scenario(
    steps=[Connect(kexinit=_huge),
           OneOf(negotiated=[ExpectKexComplete()], refused=[ExpectClose()])],
)
