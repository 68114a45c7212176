"""Flow control: we grant a 16 KiB window and do not re-grant it. The server must stop after
exactly 16 KiB; after our WINDOW_ADJUST the rest (64 KiB in all) arrives."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(window_size=16384), AutoConsume(False), Session("head -c 65536 /dev/zero"), Wait(1.0),
           CheckReceived(16384), AutoConsume(True), Grant(16384),
           ExpectOutput(stdout=lambda out: len(out) == 65536, exit_status=0)],
)
