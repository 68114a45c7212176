"""publickey requests the server cannot accept: an algorithm name it does not know (as a query
and signed), and an algorithm that does not match the key blob (rsa-sha2-256 with an Ed25519
key). RFC 4252 7: "If the server does not support some algorithm, it MUST simply reject the
request", i.e. USERAUTH_FAILURE, and the login with the real key must still work afterwards."""

from harness.scenario import *
from harness.scenario.steps import load_client_key
from harness.ssh.auth.client import publickey_signed_data


def _request(case):
    def build(ctx):
        key = load_client_key(ctx.info, "ed25519")
        blob, user = key.asbytes(), ctx.info.username
        algorithm = "rsa-sha2-256" if case == "alg_blob_mismatch" else "ssh-unknown@harness.invalid"
        if case == "query_unknown_alg":
            return m.UserauthRequestPublickey(user=user, service="ssh-connection", has_signature=False,
                                              algorithm=algorithm, key_blob=blob)
        inner = key.sign(publickey_signed_data(ctx.conn.session_id, user, algorithm, blob))
        return m.UserauthRequestPublickey(user=user, service="ssh-connection", has_signature=True,
                                          algorithm=algorithm, key_blob=blob, signature=inner)
    return build


SCENARIO = Scenario(
    timeout=3,
    params={"case": ("query_unknown_alg", "signed_unknown_alg", "alg_blob_mismatch")},
    steps=lambda p: [Handshake(), Expect(m.ServiceAccept), Send(_request(p["case"])),
                     Expect(m.UserauthFailure, partial_success=False, timeout=1.5), Authenticate("publickey")],
)
