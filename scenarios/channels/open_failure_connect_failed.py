"""direct-tcpip to a closed loopback port: the open must fail with SSH_OPEN_CONNECT_FAILED (2)."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd implements no port forwarding")],
    steps=[Login(), OpenChannel("fwd", "direct-tcpip", m.ChannelOpenDirectTcpip(
        address="127.0.0.1", port=1, originator_address="127.0.0.1", originator_port=4711), expect="fail", reason=2)],
)
