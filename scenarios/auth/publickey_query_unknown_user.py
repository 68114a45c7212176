"""A publickey query (no signature) with the authorized key but for a user that does not exist:
RFC 4252 7 has the server answer USERAUTH_PK_OK only when the key is acceptable for that user,
so it must answer USERAUTH_FAILURE (and must not reveal the user is unknown by any other reply)."""

from harness.scenario import *
from harness.scenario.steps import load_client_key


def _query(ctx):
    key = load_client_key(ctx.info, "ed25519")
    ctx.conn.auth.publickey_query("harness-no-such-user", key.get_name(), key.asbytes())


SCENARIO = Scenario(
    timeout=3,
    steps=[Handshake(), Expect(m.ServiceAccept), Call(_query, "publickey query for an unknown user"),
           Expect(m.UserauthFailure, partial_success=False, timeout=1.5)],
)
