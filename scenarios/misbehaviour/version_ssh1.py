"""An SSH-1.5 client (RFC 4253 5): an SSH-2-only server cannot talk to it. It must not carry on
with an SSH-2 key exchange; it ends the connection (a text line such as "Protocol major versions
differ", a DISCONNECT or a plain close). Silence fails."""

from harness.scenario import *

SCENARIO = Scenario(timeout=3, steps=[Connect(start=False), SendRaw(b"SSH-1.5-harness\r\n"), ExpectClose()])
