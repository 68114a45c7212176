"""Client role: the client chose keyboard-interactive (our failure list offers nothing else) and
our server's USERAUTH_INFO_REQUEST (RFC 4256 3.2) is abusive: 300 prompts, one prompt of 30000
characters, or prompts full of terminal control sequences. RFC 4256 names no limit; what the
client does is informational (a crash is a finding; control characters reaching its terminal are
reported by the client run's injection check)."""

from harness.scenario import *

_PROMPTS = {
    "many_prompts": [f"Prompt {i}: " for i in range(300)],
    "huge_prompt": ["huge prompt " * 2500],  # 30000 characters
    "control_chars": ["\x1b[2J\x1b[H\x1b]0;harness-owned\x07Password: ", "\r\x1b[1A\x1b[KOTP: "],
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"prompts": tuple(_PROMPTS)},
    steps=lambda p: [Handshake(held_messages=AUTH_HELD), AnswerServiceRequest(), ExpectUserauthRequest(),
                     Send(m.UserauthFailure(methods=("keyboard-interactive",), partial_success=False)),
                     ExpectUserauthRequest(method="keyboard-interactive"),
                     SendKbdInteractive(_PROMPTS[p["prompts"]], name="harness", instruction="\x1b[31mred\x1b[0m"),
                     Observe(2)],
)
