"""IGNORE and DEBUG in every phase where a non-strict peer must take them: before our KEXINIT,
during the first key exchange, between it and our SERVICE_REQUEST, during authentication, after
it, and during a key re-exchange we started. RFC 4253 11.2: all implementations MUST understand
and ignore IGNORE at any time after the identification string; 11.3: DEBUG MUST be understood
(and may be ignored); 7.1 allows both (1-19) while a key exchange runs. The phase must then
complete as if nothing had been sent (strict kex is off: that is kex/strict_*_in_kex)."""

from harness.scenario import *

MESSAGES = {
    "ignore": m.Ignore(data=b"harness noise"),
    "debug": m.Debug(always_display=False, message="harness debug message", language=""),
}


def _hold_service_request(ctx):
    ctx.conn.auth.service_requested = True  # the core would send it as soon as the kex ends


PHASES = {
    "before_kexinit": lambda msg: [Connect(start=False), SendVersion(), Send(msg), StartKex(), WaitKex(timeout=3)],
    "kex": lambda msg: [Connect(), Send(msg), WaitKex(timeout=3)],
    "pre_service": lambda msg: [Connect(), Call(_hold_service_request, "hold back our SERVICE_REQUEST"),
                                WaitKex(timeout=3), Send(msg), Send(m.ServiceRequest(service="ssh-userauth")),
                                Expect(m.ServiceAccept, timeout=1.5)],
    "auth": lambda msg: [Handshake(), Expect(m.ServiceAccept), Send(msg), Authenticate()],
    "connected": lambda msg: [Login(), Send(msg), Alive(timeout=2)],
    "rekey": lambda msg: [Login(), Rekey(wait=False), Send(msg), WaitKex(timeout=3)],
}
VARIANTS = tuple(f"{name}-{phase}" for name in MESSAGES for phase in PHASES)


def _steps(p):
    name, phase = p["message"].split("-")
    return PHASES[phase](MESSAGES[name])


SCENARIO = Scenario(timeout=3, params={"message": VARIANTS}, steps=_steps)
