"""Connection-layer and unassigned message numbers (80 and up) before authentication completes:
RFC 4252 6 says receiving one of them before authentication is complete is an error to which
the server MUST respond by disconnecting. Two phases: after the first key exchange but before
our SERVICE_REQUEST ("pre_service"), and during user authentication ("auth"); one variant per
message (GLOBAL_REQUEST 80, CHANNEL_OPEN 90 (auth: see misbehaviour/out_of_phase), CHANNEL_DATA
94, unassigned 110, 200, 255).

Acceptable reason if the peer sends a DISCONNECT: PROTOCOL_ERROR (2). RFC 4252 6 names no code
("preferably with a proper disconnect message"); a protocol violation is what 2 stands for."""

from harness.scenario import *

MESSAGES = {
    "80": m.GlobalRequest(request_name="keepalive@openssh.com", want_reply=True, data=b""),
    "90": m.ChannelOpen(channel_type="session", sender=0, initial_window=32768, max_packet=32768, data=b""),
    "94": m.ChannelData(recipient=0, data=b"early"),
    "110": UnknownMessage(110, b"\x00\x00\x00\x00"),
    "200": UnknownMessage(200, b"\x00\x00\x00\x00"),
    "255": UnknownMessage(255, b"\x00\x00\x00\x00"),
}


def _hold_service_request(ctx):
    ctx.conn.auth.service_requested = True  # the core would send it as soon as the kex ends


PHASES = {
    "pre_service": lambda: [Connect(), Call(_hold_service_request, "hold back our SERVICE_REQUEST"),
                            WaitKex(timeout=3)],
    "auth": lambda: [Handshake(), Expect(m.ServiceAccept)],
}

VARIANTS = tuple(f"{phase}-{number}" for phase in PHASES for number in MESSAGES
                 if (phase, number) != ("auth", "90"))


def _steps(p):
    phase, number = p["message"].split("-")
    return [*PHASES[phase](), Send(MESSAGES[number]),
            ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)]


SCENARIO = Scenario(timeout=3, params={"message": VARIANTS}, steps=_steps)
