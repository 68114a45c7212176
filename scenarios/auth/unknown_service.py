"""A valid signed publickey request that names a service which does not exist: RFC 4252 5 says
that if the service does not exist, authentication MUST NOT be accepted (the server MAY
disconnect, a proper DISCONNECT being RECOMMENDED). So the answer is USERAUTH_FAILURE or a
disconnect, never USERAUTH_SUCCESS.

Acceptable reason if it disconnects: SERVICE_NOT_AVAILABLE (7), the code for a service the
server will not provide."""

from harness.scenario import *
from harness.scenario.steps import load_client_key

SERVICE = "harness-no-such-service"


def _request(ctx):
    key = load_client_key(ctx.info, "ed25519")
    blob, user, alg = key.asbytes(), ctx.info.username, key.get_name()
    signed = Writer().string(ctx.conn.session_id).byte(50).text(user).text(SERVICE).text("publickey") \
        .boolean(True).text(alg).string(blob).getvalue()
    return m.UserauthRequestPublickey(user=user, service=SERVICE, has_signature=True, algorithm=alg,
                                      key_blob=blob, signature=key.sign(signed))


SCENARIO = Scenario(
    timeout=3,
    steps=[Handshake(), Expect(m.ServiceAccept), Send(_request),
           OneOf(refused=[Expect(m.UserauthFailure)],
                 disconnect=[ExpectClose(reason=(DisconnectReason.SERVICE_NOT_AVAILABLE,))], timeout=1.5)],
)
