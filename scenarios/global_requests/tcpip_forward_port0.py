"""tcpip-forward with port 0: the server picks a port and must return it in REQUEST_SUCCESS
(RFC 4254 7.1), then cancel-tcpip-forward for that port succeeds."""

from harness.scenario import *


def _port(data):
    return len(data) == 4 and int.from_bytes(data, "big") > 0


SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd implements no port forwarding")],
    steps=[Login(),
           GlobalRequest("tcpip-forward", Writer().text("127.0.0.1").uint32(0).getvalue(), expect=True,
                         check_data=_port),
           Call(lambda ctx: ctx.vars.__setitem__("port", int.from_bytes(ctx.vars["reply:tcpip-forward"], "big")),
                "remember the port"),
           Call(lambda ctx: ctx.conn.global_request("cancel-tcpip-forward", True,
                Writer().text("127.0.0.1").uint32(ctx.vars["port"]).getvalue()), "cancel it"),
           Expect(m.RequestSuccess)],
)
