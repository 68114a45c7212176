"""Maximum packet size: with max_packet 1024 in our CHANNEL_OPEN no CHANNEL_DATA may carry more
than 1024 bytes (the core rejects larger ones); 100 KB must still arrive complete."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(max_packet=1024), Session("head -c 100000 /dev/zero"),
           ExpectOutput(stdout=lambda out: len(out) == 100000)],
)
