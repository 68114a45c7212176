"""A second KEXINIT while the first key exchange runs is a protocol violation (RFC 4253 7.1):
the peer must not start over or get confused; it ends the connection."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Connect(), Send(lambda ctx: ctx.conn.kex.build_kexinit()), ExpectClose()],
)
