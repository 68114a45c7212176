"""pty-req then window-change: the terminal size the command sees follows the window-change
(stty size prints rows and columns)."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Login(), OpenChannel(),
           Request(m.ChannelRequestPty(want_reply=True, term="xterm", width_chars=80, height_rows=24, width_pixels=0,
                                       height_pixels=0, modes=b"\x00")),
           Request(m.ChannelRequestWindowChange(want_reply=False, width_chars=100, height_rows=40, width_pixels=0,
                                                height_pixels=0), expect=None),
           Exec("stty size"), ExpectOutput(stdout=Contains(b"40 100"))],
)
