"""Reordered TCP bytes: the first 4 bytes of a packet arrive after the rest, so the length field
is garbage. The peer must disconnect rather than misparse."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Send(m.Ignore(data=b"x" * 100), Reorder(hold=4)), ExpectClose()])
