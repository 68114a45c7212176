"""Host key algorithm selection follows the client's order (RFC 4253 7.1): we list the peer's
last-offered host key algorithm first and its first one second; the last one must win."""

from harness.scenario import *


def _order(info):
    offered = [a for a in info.algorithms["host_key"] if a in our_algorithms("host_key")]
    return (offered[-1], offered[0])


SCENARIO = Scenario(
    steps=[Handshake(host_key_algorithms=_order),
           Call(lambda ctx: _check(ctx), "negotiated host key is our first choice")],
)


def _check(ctx):
    want = _order(ctx.info)[0]
    got = ctx.vars["kex"].host_key_algorithm
    if got != want:
        raise AssertionError(f"negotiated {got}, expected the client's first choice {want}")
