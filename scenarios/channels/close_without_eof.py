"""CHANNEL_CLOSE without EOF on a running command: the server must answer with its own CLOSE."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("cat"), SendData(b"x"), CloseChannel()])
