"""Client role: while the client's command prints output, our server starts a key re-exchange
with changed preferences (only aes256-ctr, or only diffie-hellman-group14-sha256 for kex). Either
side may re-exchange at any time (RFC 4253 9); the client must complete it with the new
algorithms and keep the session."""

from harness.scenario import *

_CHANGE = {
    "cipher": ({"ciphers": ("aes256-ctr",)}, {"cipher_out": "aes256-ctr"}),
    "kex": ({"kex": ("diffie-hellman-group14-sha256",)}, {"kex": "diffie-hellman-group14-sha256"}),
}

SCENARIO = Scenario(
    role=SERVER,
    params={"change": tuple(_CHANGE)},
    steps=lambda p: [ServeSession(), SendData(64 * 1024), Rekey(expect=_CHANGE[p["change"]][1],
                                                                **_CHANGE[p["change"]][0]),
                     SendData(64 * 1024), FinishSession(0), ExpectEvent(ev.ChannelClosed, channel=Local("ch"))],
)
