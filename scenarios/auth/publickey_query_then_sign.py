"""publickey query without signature gets USERAUTH_PK_OK for an authorized key (RFC 4252 7);
then the signed request succeeds."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Handshake(), AuthAttempt("publickey_query", expect="pk_ok"), Authenticate("publickey")])
