"""Channel data past the window the peer granted: we send the whole window plus 4 KiB to
`cat > /dev/null` without waiting for WINDOW_ADJUST. RFC 4254 5.2 says both parties MAY ignore
data sent after the window is empty; it does not require a disconnect. Informational: the
peer's first reaction (silence, a close of the channel, DISCONNECT) is pinned."""

from harness.scenario import *


def _flood(ctx):
    conn = ctx.conn
    chan = conn.channels.channels[ctx.channels["ch"]]
    total = chan.remote_window + 4096
    step = max(1, min(chan.remote_max_packet, 32768))
    ctx.note(f"sending {total} bytes in a window of {chan.remote_window}")
    sent = 0
    while sent < total:
        n = min(step, total - sent)
        conn.send_unchecked(m.ChannelData(recipient=chan.remote_id, data=bytes(n)))
        sent += n
        if sent % (step * 16) == 0:
            ctx.flush()
    ctx.flush()


SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Login(), Session("cat > /dev/null"), Call(_flood, "the window plus 4 KiB at once"),
           Observe(1, ignore=(m.GlobalRequest,))],
)
