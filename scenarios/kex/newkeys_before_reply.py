"""NEWKEYS right after our KEXINIT, before any key exchange message: no keys exist yet, so the
peer must not switch to undefined keys.

Strict kex (strict variant): the peer must end the connection; PROTOCOL_ERROR (2) if it says why.
Without strict kex it must refuse: UNIMPLEMENTED naming our packet (RFC 4253 11.4: not processed,
no keys taken) or an end of the connection with PROTOCOL_ERROR (a message out of order is what 2
stands for); which one is recorded. Silence or going on as if keys had changed fails."""

from harness.scenario import *


def _steps(p):
    close = ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)
    steps = [Connect(strict_kex=p["strict"]), Send(m.NewKeys())]
    if p["strict"]:
        return [*steps, close]
    return [*steps, OneOf(unimplemented=[Expect(m.Unimplemented, seq=SentSeq())], disconnect=[close], timeout=1.5)]


SCENARIO = Scenario(
    params={"strict": (True, False)},
    requires=[KexMarker("kex-strict-s-v00@openssh.com", param="strict")],
    timeout=3,
    steps=_steps,
)
