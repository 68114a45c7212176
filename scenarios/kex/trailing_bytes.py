"""Bytes after the last field (reserved) of our KEXINIT. RFC 4253 7.1 defines no such bytes and
says nothing of a receiver that finds them; both sides hash the KEXINIT payload as sent, so a
peer that ignores them can still agree on the keys. Informational: the pinned outcome says
whether the peer negotiates or refuses."""

from harness.scenario import *


def _append(n):
    def edit(msg, ctx):
        raw = msg.encode() + bytes(range(n))
        msg.encode = lambda: raw
        return msg
    return edit


SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"bytes": (1, 64)},
    steps=lambda p: [Connect(kexinit=_append(p["bytes"])), Observe(1, ignore=(m.KexInit,))],
)
