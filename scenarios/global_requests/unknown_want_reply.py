"""An unknown global request with want_reply must get REQUEST_FAILURE (RFC 4254 4)."""

from harness.scenario import *

SCENARIO = Scenario(timeout=3, steps=[Login(), GlobalRequest("no-such-request@harness.invalid", expect=False)])
