"""A second KEXINIT while the first key exchange runs (RFC 4253 7.1: a side must not send one
before the exchange ends). Under strict kex (strict variant) every unexpected message in the
first exchange is fatal, so the peer must end the connection. Without it the RFC names no
reaction: what the peer does is recorded (informational variant)."""

from harness.scenario import *


def _steps(p):
    steps = [Connect(strict_kex=p["strict"]), Send(lambda ctx: ctx.conn.kex.build_kexinit())]
    return [*steps, ExpectClose()] if p["strict"] else [*steps, Observe(1)]


SCENARIO = Scenario(
    params={"strict": (True, False)},
    informational=lambda p: not p["strict"],
    requires=[KexMarker("kex-strict-s-v00@openssh.com", param="strict")],
    timeout=3,
    steps=_steps,
)
