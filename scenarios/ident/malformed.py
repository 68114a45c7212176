"""Identification lines that break a rule of RFC 4253 4.2 which binds the sender only (CR LF
ending, no NUL, printable US-ASCII without '-' or spaces in softwareversion, "SSH-" prefix) or
that only old clients send (1.99, LF alone: 4.2 and 5.1 let a receiver tolerate them). The RFC
does not say what the receiver must do, so the cell is informational: what the peer does after
the line and our KEXINIT (answers the key exchange, a text line, DISCONNECT, close, silence) is
its pinned outcome. The peer's own KEXINIT, sent regardless, is not taken as the reaction."""

from harness.scenario import *

LINES = {
    "cr_only": b"SSH-2.0-harness\r",
    "lf_only": b"SSH-2.0-harness\n",
    "nul": b"SSH-2.0-harn\x00ess\r\n",
    "no_software": b"SSH-2.0-\r\n",
    "no_dash": b"SSH-2.0\r\n",
    "minus_in_software": b"SSH-2.0-harness-0.1\r\n",
    "non_ascii": "SSH-2.0-h\u00e4rness".encode() + b"\r\n",
    "lowercase": b"ssh-2.0-harness\r\n",
    "binary": bytes(range(0x80, 0xC0)) + b"\r\n",
    "protoversion_1_99": b"SSH-1.99-harness\r\n",
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"line": tuple(LINES)},
    steps=lambda p: [Connect(start=False), SendRaw(LINES[p["line"]]), StartKex(), Observe(1, ignore=(m.KexInit,))],
)
