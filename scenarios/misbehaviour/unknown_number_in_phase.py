"""Message numbers below 80 that mean nothing in the phase they arrive in: 35 and 49 (kex-method
range) outside a key exchange, 70 and 79 (user-auth method range) with no method running. They
are unrecognised there, and RFC 4253 11.4 says an implementation MUST respond to every
unrecognised message with UNIMPLEMENTED naming its sequence number. Phases: after the first key
exchange before our SERVICE_REQUEST, during authentication, and after it (numbers 80 and up
are misbehaviour/unassigned_number and connection_before_auth)."""

from harness.scenario import *


def _hold_service_request(ctx):
    ctx.conn.auth.service_requested = True  # the core would send it as soon as the kex ends


def _remember_seq(ctx):
    ctx.vars["stimulus"] = ctx.last_sent_seq


PHASES = {
    "pre_service": lambda: [Connect(), Call(_hold_service_request, "hold back our SERVICE_REQUEST"),
                            WaitKex(timeout=3)],
    "auth": lambda: [Handshake(), Expect(m.ServiceAccept)],
    "connected": lambda: [Login()],
}
NUMBERS = {"pre_service": (35, 70), "auth": (35, 49, 70, 79), "connected": (35, 49, 70, 79)}
VARIANTS = tuple(f"{phase}-{n}" for phase, numbers in NUMBERS.items() for n in numbers)


def _steps(p):
    phase, number = p["message"].split("-")
    return [*PHASES[phase](), Send(UnknownMessage(int(number), b"\x00\x00\x00\x00")),
            Call(_remember_seq, "remember our packet's sequence number"),
            Expect(m.Unimplemented, seq=Var("stimulus"), timeout=1.5)]


SCENARIO = Scenario(timeout=3, params={"message": VARIANTS}, steps=_steps)
