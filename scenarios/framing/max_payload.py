"""A packet whose uncompressed payload is exactly 32768 bytes (an IGNORE): RFC 4253 6.1 says all
implementations MUST be able to process such packets. Sent during the first key exchange (IGNORE
is allowed there without strict kex), during authentication and after it; the phase must then
complete normally."""

from harness.scenario import *

BIG = m.Ignore(data=b"\xa5" * (32768 - 5))  # 1 byte message number + 4 bytes string length

PHASES = {
    "kex": [Connect(), Send(BIG), WaitKex(timeout=3)],
    "auth": [Handshake(), Expect(m.ServiceAccept), Send(BIG), Authenticate()],
    "connected": [Login(), Send(BIG), Alive(timeout=2)],
}

SCENARIO = Scenario(timeout=3, params={"phase": tuple(PHASES)}, steps=lambda p: PHASES[p["phase"]])
