"""tcpip-forward on a fixed free port, then cancel-tcpip-forward: both succeed, and cancelling
again (nothing forwarded any more) fails."""

import socket

from harness.scenario import *


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = _free_port()
FORWARD = Writer().text("127.0.0.1").uint32(PORT).getvalue()

SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd implements no port forwarding")],
    steps=[Login(), GlobalRequest("tcpip-forward", FORWARD, expect=True),
           GlobalRequest("cancel-tcpip-forward", FORWARD, expect=True),
           GlobalRequest("cancel-tcpip-forward", FORWARD, expect=False)],
)
