"""USERAUTH_REQUEST after USERAUTH_SUCCESS: RFC 4252 5.1 says any further authentication request
received after that SHOULD be silently ignored. Variants: the none method, a signed publickey
request (valid), and a none request for another user. Nothing may come back for a second
(OpenSSH's unsolicited hostkeys-00 announcement aside), and the connection keeps working."""

from harness.scenario import *
from harness.scenario.steps import load_client_key
from harness.ssh.auth.client import publickey_signed_data


def _request(case):
    def build(ctx):
        user = ctx.info.username if case != "other_user" else "harness-other-user"
        if case != "publickey":
            return m.UserauthRequestNone(user=user, service="ssh-connection")
        key = load_client_key(ctx.info, "ed25519")
        blob, alg = key.asbytes(), key.get_name()
        signature = key.sign(publickey_signed_data(ctx.conn.session_id, user, alg, blob))
        return m.UserauthRequestPublickey(user=user, service="ssh-connection", has_signature=True,
                                          algorithm=alg, key_blob=blob, signature=signature)
    return build


SCENARIO = Scenario(
    timeout=3,
    params={"case": ("none", "publickey", "other_user")},
    steps=lambda p: [Login(), Send(_request(p["case"])), ExpectNothing(1, allow=(m.GlobalRequest,)),
                     Alive(timeout=2)],
)
