"""DISCONNECT in the middle of the first key exchange: the peer must simply close (and survive:
the sanity scenario that runs last would notice otherwise)."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Connect(), Send(m.Disconnect(reason=11, description="bye", language="")), ExpectClose()])
