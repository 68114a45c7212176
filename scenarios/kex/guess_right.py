"""A correct guess (RFC 4253 7): we set first_kex_packet_follows and send our kex packet at once,
with the peer's preferred kex and host key algorithm first. The peer must use the guessed packet."""

from harness.scenario import *


def _first(category):
    return lambda info: tuple(a for a in info.algorithms[category] if a in our_algorithms(category))[:1]


SCENARIO = Scenario(
    steps=[Login(kex_guess=True, kex=_first("kex"), host_key_algorithms=_first("host_key"))],
)
