"""A client-initiated key re-exchange on an authenticated connection with an open channel: data
echoes correctly before and after it, under the new keys."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("cat"), Echo(64 * 1024), Rekey(), Echo(64 * 1024)])
