"""Messages a party MUST NOT send while a key exchange runs (RFC 4253 7.1: only 1-19 other than
SERVICE_REQUEST/ACCEPT, 20-29 other than KEXINIT, and the method's 30-49): an unknown number of
the auth (60), connection (110) and unassigned (200, 255) ranges, during the first key exchange
and during a re-exchange we started, strict kex off. The RFC binds the sender only, so a
receiver may answer UNIMPLEMENTED, disconnect or go on: informational, the first reaction is
pinned. (With strict kex the receiver must disconnect: kex/strict_unknown_in_kex.)"""

from harness.scenario import *

PHASES = {"kex": lambda: [Connect()], "rekey": lambda: [Login(), Rekey(wait=False)]}
VARIANTS = tuple(f"{phase}-{n}" for phase in PHASES for n in (60, 110, 200, 255))


def _steps(p):
    phase, number = p["message"].split("-")
    return [*PHASES[phase](), Send(UnknownMessage(int(number), b"\x00\x00\x00\x00")),
            Observe(1, ignore=(m.KexInit, m.KexEcdhReply, m.NewKeys, m.GlobalRequest))]


SCENARIO = Scenario(informational=True, timeout=3, params={"message": VARIANTS}, steps=_steps)
