"""An SSH-1.5 client: protocol 1 is not spoken by SSH-2-only servers; the peer must refuse
(usually with a 'Protocol major versions differ' line) and close."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Connect(start=False), SendRaw(b"SSH-1.5-harness\r\n"), ExpectClose()])
