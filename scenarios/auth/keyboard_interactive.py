"""keyboard-interactive (RFC 4256): INFO_REQUEST prompts answered with the password succeed."""

from harness.scenario import *

SCENARIO = Scenario(requires=[AuthMethod("keyboard-interactive")], steps=[Login("keyboard-interactive")])
