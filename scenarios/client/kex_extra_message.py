"""Client role, no strict kex: our server sends IGNORE, DEBUG or an unassigned transport-layer
number (15) after its KEXINIT, during the first key exchange. RFC 4253 7.1 allows transport
generic messages (1 to 19) during key exchange: IGNORE and DEBUG must not disturb it (11.2, 11.3)
and an unknown number gets UNIMPLEMENTED naming our packet (11.4)."""

from harness.scenario import *

_STIMULUS = {
    "ignore": m.Ignore(data=b"during kex"),
    "debug": m.Debug(always_display=False, message="during kex", language=""),
    "unknown15": UnknownMessage(15, b"\x00\x00"),
}


def _steps(p):
    steps = [Connect(), Send(_STIMULUS[p["message"]])]
    if p["message"] == "unknown15":
        return [*steps, Expect(m.Unimplemented, seq=SentSeq())]
    return [*steps, WaitKex(), Expect(m.ServiceRequest, service="ssh-userauth")]


SCENARIO = Scenario(role=SERVER, params={"message": tuple(_STIMULUS)}, steps=_steps)
