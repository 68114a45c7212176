"""100 text lines before the client's identification line: RFC 4253 4.2 lets only servers send
such lines and does not say what a server does with them, so the cell is informational. What the
peer does (answers the key exchange, a text line, DISCONNECT, close) is its pinned outcome; its
own KEXINIT, sent regardless, is not taken as the reaction."""

from harness.scenario import *

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    steps=[Connect(start=False), SendRaw(b"hello from the harness\r\n" * 100), StartKex(send_version=True),
           Observe(1, ignore=(m.KexInit,))],
)
