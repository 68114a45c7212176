"""keepalive@openssh.com with want_reply: a server that does not know it must still answer
(RFC 4254 4: REQUEST_FAILURE for unrecognised requests). Clients use this to detect dead servers."""

from harness.scenario import *

SCENARIO = Scenario(timeout=3, steps=[Login(), GlobalRequest("keepalive@openssh.com", expect=False)])
