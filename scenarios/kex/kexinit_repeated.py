"""A second KEXINIT while the first key exchange runs is a protocol violation (RFC 4253 7.1).

Strict kex (strict variant): only the exchange's own messages are allowed until NEWKEYS, so the
peer must end the connection; PROTOCOL_ERROR (2) if it says why (OpenSSH's "strict KEX
violation"). Without strict kex the peer must refuse the message: UNIMPLEMENTED naming our packet
(RFC 4253 11.4: not processed) or an end of the connection with PROTOCOL_ERROR; which of the two
is recorded. Answering as if a new exchange began, or silence, fails."""

from harness.scenario import *


def _steps(p):
    close = ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)
    steps = [Connect(strict_kex=p["strict"]), Send(lambda ctx: ctx.conn.kex.build_kexinit())]
    if p["strict"]:
        return [*steps, close]
    return [*steps, OneOf(unimplemented=[Expect(m.Unimplemented, seq=SentSeq())], disconnect=[close], timeout=1.5)]


SCENARIO = Scenario(
    params={"strict": (True, False)},
    requires=[KexMarker("kex-strict-s-v00@openssh.com", param="strict")],
    timeout=3,
    steps=_steps,
)
