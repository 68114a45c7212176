"""Partial success: with AuthenticationMethods publickey,password a valid key gives
USERAUTH_FAILURE with partial_success true and password listed; the password then completes login."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[PeerOptions(openssh={"extra_config": {"AuthenticationMethods": "publickey,password"}},
                          why="needs AuthenticationMethods (two required methods)")],
    steps=[Handshake(), Authenticate("publickey", succeed=False),
           Call(lambda ctx: _partial(ctx), "the failure was a partial success"), Authenticate("password")],
)


def _partial(ctx):
    failures = [e for e in ctx.log if isinstance(e, ev.AuthFailure)]
    if not failures or not failures[-1].partial_success or "password" not in failures[-1].methods:
        raise AssertionError(f"expected partial_success with password next; got {failures[-1:]}")
