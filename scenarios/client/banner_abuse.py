"""Client role: our server answers the client's first USERAUTH_REQUEST with a USERAUTH_BANNER
(RFC 4252 5.4) that is huge (30000 characters), holds terminal control sequences, or has 2000
lines, then with USERAUTH_FAILURE. The client may display or skip a banner; what it does next is
informational (control characters reaching its terminal are reported by the client run's
injection check: RFC 4252 5.4 says clients should filter them)."""

from harness.scenario import *

_BANNERS = {
    "huge": "huge banner " * 2727,  # 29997 characters
    "control_chars": "\x1b[2J\x1b[H\x1b]0;harness-owned\x07\x1b[31mWelcome\x1b[0m\r\n\x07\x08\x08\x08",
    "many_lines": "banner line\r\n" * 2000,
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"banner": tuple(_BANNERS)},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), AnswerServiceRequest(), ExpectUserauthRequest(),
                     SendBanner(_BANNERS[p["banner"]]),
                     Send(m.UserauthFailure(methods=("publickey", "password"), partial_success=False)), Observe(2)],
)
