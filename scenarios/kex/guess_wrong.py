"""A wrong guess (RFC 4253 7): we send our guessed kex packet for a method that is not the peer's
first choice. The peer must silently ignore that packet; we then send the right one. A peer that
uses the wrongly guessed packet computes a different exchange hash and the handshake fails."""

from harness.scenario import *


def _second_kex(info):
    ours = [a for a in info.algorithms["kex"] if a in our_algorithms("kex")]
    return (ours[1], ours[0])


SCENARIO = Scenario(
    steps=[Login(kex_guess=True, kex=_second_kex)],
)
