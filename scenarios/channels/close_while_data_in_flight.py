"""Close while data is in flight: the server streams megabytes and we close at once; data
already sent may still arrive, then the server's CLOSE must come."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("head -c 50000000 /dev/zero"), CloseChannel()])
