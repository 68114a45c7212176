"""100 text lines before the client's identification line: only servers may send such lines
(RFC 4253 4.2). A peer may tolerate or refuse them; what it does is recorded."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Connect(start=False), SendRaw(b"hello from the harness\r\n" * 100), StartKex(send_version=True),
           OneOf(tolerated=[ExpectKexComplete()], refused=[ExpectClose()])],
)
