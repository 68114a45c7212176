"""Rekey in the middle of a 4 MiB echo: data in flight both ways while keys change; the SHA-256
of what comes back must match what was sent."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("cat"), Echo(4 * 1024 * 1024, during=[Rekey(wait=False)]), KexCount(2)])
