"""Sanity: log in, run a command and check its output. Runs first and last against every peer,
so a peer that died (or was left broken) by the scenarios in between is noticed."""

from harness.scenario import *

SCENARIO = Scenario(
    first_and_last=True,
    steps=[
        Login(),
        Session("echo sanity"),
        ExpectOutput(stdout=b"sanity\n", exit_status=0),
    ],
)
