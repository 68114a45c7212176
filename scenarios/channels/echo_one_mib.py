"""1 MiB through cat: window adjusts in both directions keep a bulk transfer moving."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("cat"), Echo(1024 * 1024)])
