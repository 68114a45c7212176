"""The user name changes mid-authentication: a none request for another user fails, then the real
user logs in with the authorized key. RFC 4252 5: the server MUST flush any accumulated state
when the user name changes, or, if it cannot, MUST disconnect. So the real login must either
succeed (state flushed) or the server disconnects; a failure of the valid key, or silence, is
wrong. Which of the two each peer does is recorded.

Acceptable reason if it disconnects: PROTOCOL_ERROR (2); RFC 4252 5 names no code."""

from harness.scenario import *


def _none_for_other(ctx):
    ctx.conn.auth.none("harness-other-user")


def _publickey(ctx):
    from harness.scenario.steps import load_client_key

    ctx.conn.auth.publickey(ctx.info.username, load_client_key(ctx.info, "ed25519"))


SCENARIO = Scenario(
    timeout=3,
    steps=[Handshake(), Expect(m.ServiceAccept), Call(_none_for_other, "none for another user"),
           Expect(m.UserauthFailure, timeout=1.5), Call(_publickey, "publickey for the real user"),
           OneOf(flushed=[Expect(m.UserauthSuccess)],
                 disconnect=[ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,))], timeout=1.5)],
)
