"""An identification line longer than 255 characters (RFC 4253 4.2): the peer must refuse it."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Connect(start=False), SendRaw(b"SSH-2.0-" + b"A" * 300 + b"\r\n"), ExpectClose()])
