"""A packet cut short (the TCP stream drops its tail), then we close our half: the peer must end
the connection cleanly instead of waiting forever for the missing bytes."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), Send(m.Ignore(data=b"x" * 200), Drop(start=20)), ShutdownWrite(), ExpectClose()],
)
