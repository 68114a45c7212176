"""Client role: our server answers the client's first USERAUTH_REQUEST with a USERAUTH_FAILURE
whose method list holds names the client cannot know: only unknown ones, unknown ones around
"publickey,password", or a thousand of them. Unknown names in a name-list are to be skipped
(RFC 4251 6); whether the client goes on or gives up is informational."""

from harness.scenario import *

_LISTS = {
    "only_unknown": ("unknown-method@harness.invalid", "x-harness"),
    "mixed": ("unknown-method@harness.invalid", "publickey", "x-harness", "password"),
    "thousand": (*(f"m{i}@harness.invalid" for i in range(1000)), "publickey", "password"),
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"methods": tuple(_LISTS)},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), AnswerServiceRequest(), ExpectUserauthRequest(),
                     Send(m.UserauthFailure(methods=_LISTS[p["methods"]], partial_success=False)), Observe(2)],
)
