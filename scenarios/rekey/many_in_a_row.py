"""Ten key re-exchanges back to back, then data still echoes: no state leaks between exchanges
(sequence numbers, session id, strict-kex rules only for the first exchange)."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), *[Rekey() for _ in range(10)], Session("cat"), Echo(16 * 1024), KexCount(11)])
