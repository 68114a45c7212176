"""CHANNEL_CLOSE twice: once more after the close handshake finished (the peer closed the
channel after `true` exited; the channel number is free again), and twice in a row before the
peer answered. RFC 4254 5.3 expects exactly one CLOSE per side and does not say what a receiver
does with another. Informational: the first reaction besides the peer's own CLOSE/EOF/exit
status is pinned."""

from harness.scenario import *


def _remember_remote(ctx):
    ctx.vars["remote:ch"] = Remote("ch").resolve(ctx)  # still known once the channel is gone


CASES = {
    "after_handshake": [Session("true"), Call(_remember_remote, "remember the peer's channel number"),
                        ExpectOutput(exit_status=0, timeout=2), Send(m.ChannelClose(recipient=Remote()))],
    "back_to_back": [Session("cat"), CloseChannel(wait=False), Send(m.ChannelClose(recipient=Remote()))],
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"case": tuple(CASES)},
    steps=lambda p: [Login(), *CASES[p["case"]],
                     Observe(1, ignore=(m.GlobalRequest, m.ChannelClose, m.ChannelEof, m.ChannelRequest))],
)
