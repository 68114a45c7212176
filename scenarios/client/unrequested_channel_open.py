"""Client role: during the client's session our server opens a channel the client never asked
for. The client must refuse it with CHANNEL_OPEN_FAILURE: forwarded-tcpip without a
tcpip-forward request (RFC 4254 7.2, MUST), x11 without x11-req (6.3.2, MUST), session (6.1,
SHOULD, against a corrupt server). auth-agent@openssh.com without agent forwarding is not in the
RFC (OpenSSH PROTOCOL): informational."""

from harness.scenario import *

_OPEN_HEAD = {"sender": 0, "initial_window": 0, "max_packet": 0}
_MESSAGES = {
    "forwarded-tcpip": m.ChannelOpenForwardedTcpip(channel_type="forwarded-tcpip", address="127.0.0.1", port=4711,
                                                   originator_address="127.0.0.1", originator_port=50000,
                                                   **_OPEN_HEAD),
    "x11": m.ChannelOpenX11(channel_type="x11", originator_address="127.0.0.1", originator_port=6010, **_OPEN_HEAD),
    "auth-agent@openssh.com": None,
    "session": None,
}


def _steps(p):
    kind = p["type"]
    if kind == "auth-agent@openssh.com":
        return [ServeSession(), OpenChannel("srv", kind, expect=None), Observe(2)]
    return [ServeSession(), OpenChannel("srv", kind, _MESSAGES[kind], expect="fail"), FinishSession(0)]


SCENARIO = Scenario(
    role=SERVER,
    informational=lambda p: p["type"] == "auth-agent@openssh.com",
    params={"type": tuple(_MESSAGES)},
    steps=_steps,
)
