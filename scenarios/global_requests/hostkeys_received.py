"""hostkeys-00@openssh.com: after authentication OpenSSH announces all its host keys (without
want_reply) so clients can learn new ones (UpdateHostKeys)."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[Product(("openssh",), "an OpenSSH extension")],
    steps=[Login(), Expect(m.GlobalRequest, request_name="hostkeys-00@openssh.com", want_reply=False)],
)
