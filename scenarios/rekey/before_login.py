"""A key re-exchange we start before the service request (right after the first exchange) or in
the middle of user authentication (after SERVICE_ACCEPT): RFC 4253 9 lets either party start one
at any time, so the peer must complete it and the login must then succeed under the new keys."""

from harness.scenario import *


def _hold_service_request(ctx):
    ctx.conn.auth.service_requested = True  # the core would send it as soon as the kex ends


PHASES = {
    "pre_service": [Connect(), Call(_hold_service_request, "hold back our SERVICE_REQUEST"), WaitKex(timeout=1.5),
                    Rekey(wait=False), WaitKex(timeout=1.5), Send(m.ServiceRequest(service="ssh-userauth")),
                    Expect(m.ServiceAccept, timeout=1.5),
                    Authenticate()],
    "auth": [Handshake(), Expect(m.ServiceAccept), Rekey(wait=False), WaitKex(timeout=1.5), Authenticate()],
}

SCENARIO = Scenario(timeout=3, params={"phase": tuple(PHASES)}, steps=lambda p: [*PHASES[p["phase"]], KexCount(2)])
