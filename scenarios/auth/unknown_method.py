"""A USERAUTH_REQUEST with a method name the server does not know: RFC 4252 5 has the server
answer USERAUTH_FAILURE (partial_success false, listing the methods that can continue) for a
method it does not support; the real login must still work afterwards."""

from harness.scenario import *

SCENARIO = Scenario(
    timeout=3,
    steps=[Handshake(), Expect(m.ServiceAccept),
           Send(lambda ctx: m.UserauthRequest(user=ctx.info.username, service="ssh-connection",
                                              method="no-such-method@harness.invalid", method_data=b"")),
           Expect(m.UserauthFailure, partial_success=False, timeout=1.5), Authenticate("publickey")],
)
