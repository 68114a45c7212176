"""A session opened with an initial window of 0: RFC 4254 5.2 says a party may send no more data
than the window allows, and the window covers CHANNEL_DATA and CHANNEL_EXTENDED_DATA alike. The
command's output (on stdout, or on stderr) must wait until we grant window; after a 1 KiB
WINDOW_ADJUST it must arrive in full."""

from harness.scenario import *


def _nothing_yet(ctx):
    cid = ctx.channels["ch"]
    got = [e for e in ctx.log if isinstance(e, ev.ChannelData) and e.channel == cid]
    if got:
        raise AssertionError(f"{sum(len(e.data) for e in got)} bytes of channel data arrived in a window of 0")


COMMANDS = {"stdout": ("echo hello", {"stdout": b"hello\n"}), "stderr": ("echo hello >&2", {"stderr": b"hello\n"})}

SCENARIO = Scenario(
    timeout=3,
    params={"stream": tuple(COMMANDS)},
    steps=lambda p: [Login(window_size=0), AutoConsume(False), Session(COMMANDS[p["stream"]][0]), Wait(0.8),
                     Call(_nothing_yet, "no channel data in a window of 0"), Grant(1024), AutoConsume(True),
                     ExpectOutput(**COMMANDS[p["stream"]][1], timeout=2)],
)
