"""Identification lines the server must accept (RFC 4253 4.2): one of exactly 255 bytes with its
CR LF (the stated maximum), and one with a comments part after a space. Key exchange must
complete with the line, as sent, in the exchange hash."""

from harness.scenario import *

LINES = {
    "max_length": b"SSH-2.0-" + b"h" * (255 - 2 - len(b"SSH-2.0-")) + b"\r\n",
    "comments": b"SSH-2.0-harness_0.1 comments may hold spaces, and-minus signs\r\n",
}

SCENARIO = Scenario(
    timeout=3,
    params={"line": tuple(LINES)},
    steps=lambda p: [Connect(start=False), SendRaw(LINES[p["line"]]), StartKex(), WaitKex(timeout=3)],
)
