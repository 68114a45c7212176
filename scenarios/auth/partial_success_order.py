"""Partial success with AuthenticationMethods publickey,password (RFC 4252 5.1): the right
password first is not enough, so it gets USERAUTH_FAILURE with partial_success false (nothing
was completed); then the key gives partial success, and a password request for another user
after that must not complete the login (RFC 4252 5: a changed user name flushes the
accumulated state, or the server disconnects)."""

from harness.scenario import *


def _password(user):
    def send(ctx):
        ctx.conn.auth.password(user(ctx), ctx.info.password)
    return send


def _publickey(ctx):
    from harness.scenario.steps import load_client_key

    ctx.conn.auth.publickey(ctx.info.username, load_client_key(ctx.info, "ed25519"))


SCENARIO = Scenario(
    timeout=3,
    requires=[PeerOptions(openssh={"extra_config": {"AuthenticationMethods": "publickey,password"}},
                          why="needs AuthenticationMethods (two required methods)")],
    params={"case": ("password_first", "switch_user_after_partial")},
    steps=lambda p: [Handshake(), Expect(m.ServiceAccept), *(
        [Call(_password(lambda ctx: ctx.info.username), "the right password first"),
         Expect(m.UserauthFailure, partial_success=False, timeout=1.5)] if p["case"] == "password_first" else
        [Call(_publickey, "publickey: partial success"), Expect(m.UserauthFailure, partial_success=True, timeout=1.5),
         Call(_password(lambda ctx: "harness-other-user"), "password for another user"),
         OneOf(refused=[Expect(m.UserauthFailure)],
               disconnect=[ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,))], timeout=1.5)])],
)
