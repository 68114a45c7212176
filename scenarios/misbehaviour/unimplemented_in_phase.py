"""An UNIMPLEMENTED of ours, naming the peer's packet 1, in every phase (before our KEXINIT,
during the first key exchange, before the service request, during authentication, after it,
during a re-exchange we started). RFC 4253 11.4 defines the message but not what its receiver
does (continue, log, give up), so the cell is informational: the peer's first reaction (or its
silence) is pinned."""

from harness.scenario import *


def _hold_service_request(ctx):
    ctx.conn.auth.service_requested = True  # the core would send it as soon as the kex ends


MSG = m.Unimplemented(seq=1)
PHASES = {
    "before_kexinit": lambda: [Connect(start=False), SendVersion(), Send(MSG), StartKex()],
    "kex": lambda: [Connect(), Send(MSG)],
    "pre_service": lambda: [Connect(), Call(_hold_service_request, "hold back our SERVICE_REQUEST"),
                            WaitKex(timeout=3), Send(MSG)],
    "auth": lambda: [Handshake(), Expect(m.ServiceAccept), Send(MSG)],
    "connected": lambda: [Login(), Send(MSG)],
    "rekey": lambda: [Login(), Rekey(wait=False), Send(MSG)],
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"phase": tuple(PHASES)},
    steps=lambda p: [*PHASES[p["phase"]](), Observe(1, ignore=(m.KexInit, m.GlobalRequest))],
)
