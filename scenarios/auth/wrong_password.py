"""A wrong password fails with USERAUTH_FAILURE (partial_success false, password still listed),
and the right one then succeeds on the same connection."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=15,  # servers delay the answer after a failed password
    requires=[AuthMethod("password")],
    steps=[Handshake(), AuthAttempt("password", methods=Contains("password"), partial_success=False),
           Authenticate("password")],
)
