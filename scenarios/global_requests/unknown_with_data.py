"""An unknown global request with want_reply and 200 bytes of request-specific data: RFC 4254 4
says a server that does not recognise the request responds with REQUEST_FAILURE; the data it
cannot interpret must not change that."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    steps=[Login(), GlobalRequest("no-such-request@harness.invalid", bytes(range(200)), expect=False)],
)
