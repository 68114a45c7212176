"""Channel data interleaved with a rekey: we start a rekey without waiting and keep sending; the
core defers our data until NEWKEYS (RFC 4253 7.1) while the peer's echo keeps arriving."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("cat"), Rekey(wait=False), Echo(512 * 1024), KexCount(2)])
