"""Client role: our server's DISCONNECT carries a long description (20000 characters) or one full
of terminal control sequences, an unknown reason code (0 and 999). The recipient MUST NOT send
any more messages (RFC 4253 11.1): the client must close the connection without a word (control
characters reaching its terminal are reported by the client run's injection check)."""

from harness.scenario import *

_DISCONNECTS = {
    "long_text": (11, "long text " * 2000),  # 20000 characters
    "control_chars": (11, "\x1b[2J\x1b[H\x1b]0;harness-owned\x07bye\r\n\x1b[31mred"),
    "reason_0": (0, "reason code zero"),
    "reason_999": (999, "reason code 999"),
}

SCENARIO = Scenario(
    role=SERVER,
    params={"text": tuple(_DISCONNECTS)},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest), Wait(0.3),
                     Send(m.Disconnect(reason=_DISCONNECTS[p["text"]][0], description=_DISCONNECTS[p["text"]][1],
                                       language="")), ExpectHangUp()],
)
