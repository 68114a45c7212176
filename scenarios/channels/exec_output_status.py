"""exec with stdout, stderr and exit-status: output arrives as CHANNEL_DATA and
CHANNEL_EXTENDED_DATA(1), and the exit status as an exit-status request before CLOSE."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("printf out; printf err >&2; exit 7"),
                           ExpectOutput(stdout=b"out", stderr=b"err", exit_status=7)])
