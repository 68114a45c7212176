"""A signed publickey request with a key that is not in authorized_keys fails with USERAUTH_FAILURE."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Handshake(), AuthAttempt("publickey", key="unauthorized", partial_success=False)])
