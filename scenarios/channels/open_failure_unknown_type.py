"""CHANNEL_OPEN for an unknown channel type must fail with SSH_OPEN_UNKNOWN_CHANNEL_TYPE (3)."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), OpenChannel(channel_type="no-such-type@harness.invalid", expect="fail", reason=3)])
