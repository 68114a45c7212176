"""The none method fails and the USERAUTH_FAILURE lists the methods that can continue
(RFC 4252 5.2); publickey must be among them on every peer here."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Handshake(), AuthAttempt("none", methods=Contains("publickey"), partial_success=False)])
