"""Too many authentication failures: the server must disconnect after a bounded number of failed
attempts (OpenSSH MaxAuthTries, Dropbear's limit) instead of letting a client guess forever."""

from harness.scenario import *

SCENARIO = Scenario(timeout=10, steps=[Handshake(), FailUntilDisconnect("auto", limit=40)])
