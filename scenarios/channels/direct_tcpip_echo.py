"""direct-tcpip to a loopback echo service (the peer shares the host's loopback): 128 KiB go
through the forwarded channel and come back intact."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd implements no port forwarding")],
    steps=[EchoServer(), Login(),
           OpenChannel("fwd", "direct-tcpip", m.ChannelOpenDirectTcpip(
               address="127.0.0.1", port=Var("echo_port"), originator_address="127.0.0.1", originator_port=4711)),
           Echo(128 * 1024, "fwd")],
)
