"""no-more-sessions@openssh.com sent to a server that does not implement it (not OpenSSH): an
unrecognised global request without want_reply changes nothing (RFC 4254 4), so a session
channel opened afterwards must still work (global_requests/no_more_sessions checks OpenSSH,
which must refuse it)."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    requires=[NotProduct(("openssh",), "OpenSSH implements no-more-sessions (global_requests/no_more_sessions)")],
    steps=[Login(), GlobalRequest("no-more-sessions@openssh.com", expect=None), Alive(timeout=2)],
)
