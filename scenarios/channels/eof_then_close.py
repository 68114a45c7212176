"""EOF then close: cat echoes what we sent, sees our EOF, exits 0, and the server closes."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("cat"), SendData(b"hello\n"), SendEof(),
                           ExpectOutput(stdout=b"hello\n", exit_status=0)])
