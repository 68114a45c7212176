"""NEWKEYS right after our KEXINIT, before any key exchange message: no keys exist yet, so the
peer must not switch to undefined keys. Strict kex (strict variant): the peer must end the
connection. Without strict kex it may refuse with UNIMPLEMENTED naming our packet or end the
connection with PROTOCOL_ERROR; going silent or answering anything else fails."""

from harness.scenario import *


def _steps(p):
    steps = [Connect(strict_kex=p["strict"]), Send(m.NewKeys())]
    if p["strict"]:
        return [*steps, ExpectClose()]
    return [*steps, OneOf(unimplemented=[Expect(m.Unimplemented, seq=SentSeq())],
                          disconnect=[ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,
                                                          DisconnectReason.KEY_EXCHANGE_FAILED))])]  # fmt: skip


SCENARIO = Scenario(
    params={"strict": (True, False)},
    requires=[KexMarker("kex-strict-s-v00@openssh.com", param="strict")],
    timeout=3,
    steps=_steps,
)
