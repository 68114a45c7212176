"""Client role: our server answers the client's first USERAUTH_REQUEST (usually "none") with
USERAUTH_PK_OK for an Ed25519 key the client never offered. RFC 4252 7 defines PK_OK only as the
answer to a publickey query; the reaction to an unsolicited one is not said: informational."""

from harness.scenario import *

_KEY_BLOB = Writer().string(b"ssh-ed25519").string(bytes(range(32))).getvalue()

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    steps=[Handshake(held_messages=AUTH_HELD), AnswerServiceRequest(), ExpectUserauthRequest(),
           Send(m.UserauthPkOk(algorithm="ssh-ed25519", key_blob=_KEY_BLOB)), Observe(2)],
)
