"""A command killed by a signal: the server reports exit-signal with the signal name without the
SIG prefix (RFC 4254 6.10)."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("kill -TERM $$"), ExpectOutput(exit_signal="TERM")])
