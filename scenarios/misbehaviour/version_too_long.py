"""An identification line longer than 255 characters (RFC 4253 4.2 limits the line to 255,
CR LF included). The RFC binds the sender and names no reaction for the receiver: whether the
peer refuses (and how) or carries on is recorded and pinned per peer."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Connect(start=False), SendRaw(b"SSH-2.0-" + b"A" * 300 + b"\r\n"), Observe(1)],
)
