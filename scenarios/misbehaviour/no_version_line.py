"""No identification line at all: the client starts with a binary packet. The peer must refuse
and close."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Connect(start=False), SendRaw(b"\x00\x00\x00\x0c\x0a\x14" + bytes(10) + b"\r\n"), ExpectClose()],
)
