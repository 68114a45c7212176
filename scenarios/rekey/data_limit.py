"""Rekey triggered by the data limit: with rekey_bytes at 256 KiB a 2 MiB echo (2 MiB each way) must
cross at least two automatic key re-exchanges (both directions' volume counts) without losing a byte."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(rekey_bytes=256 * 1024), Session("cat"), Echo(2 * 1024 * 1024), KexCount(3)])
