"""Signed publickey requests with the authorized key whose signature is wrong: random bytes in
the signature blob, one flipped bit of a valid signature, a valid signature made by another key,
a valid signature over another session identifier. RFC 4252 7: the server MUST check that the
signature is correct and, if not, answer USERAUTH_FAILURE; the real login must still work."""

from harness.scenario import *
from harness.scenario.steps import load_client_key
from harness.ssh.auth.client import publickey_signed_data
from harness.ssh.keys import Ed25519Key


def _request(case):
    def build(ctx):
        key = load_client_key(ctx.info, "ed25519")
        blob, user, alg = key.asbytes(), ctx.info.username, key.get_name()
        session_id = ctx.conn.session_id if case != "wrong_session" else bytes(32)
        signer = key if case != "other_key" else Ed25519Key.generate(ctx.rng.randbytes(32))
        signature = signer.sign(publickey_signed_data(session_id, user, alg, blob))
        if case == "flipped":
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        elif case == "garbage":
            signature = Writer().text(alg).string(ctx.rng.randbytes(64)).getvalue()
        return m.UserauthRequestPublickey(user=user, service="ssh-connection", has_signature=True,
                                          algorithm=alg, key_blob=blob, signature=signature)
    return build


SCENARIO = Scenario(
    timeout=3,
    params={"case": ("garbage", "flipped", "other_key", "wrong_session")},
    steps=lambda p: [Handshake(), Expect(m.ServiceAccept), Send(_request(p["case"])),
                     Expect(m.UserauthFailure, partial_success=False, timeout=1.5), Authenticate("publickey")],
)
