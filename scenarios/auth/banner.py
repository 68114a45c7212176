"""USERAUTH_BANNER: a server configured with a banner sends it before authentication completes."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[PeerOptions(openssh={"extra_config": {"Banner": "/etc/issue.net"}},
                          dropbear={"extra_args": ("-b", "/etc/issue.net")}, why="needs a configured banner")],
    steps=[Handshake(), Call(lambda ctx: ctx.conn.auth.none(ctx.info.username), "USERAUTH_REQUEST none"),
           Expect(m.UserauthBanner)],
)
