"""A KEXINIT whose kex name-list breaks RFC 4251 5/6 (an empty name, a trailing comma, a name
over 64 characters, a NUL, a non-ASCII or a space-holding name), placed before the real names
(the trailing comma after them).
The RFC binds the sender only; what the receiver does (skip the bad name and negotiate, or
refuse) is not said, so the cell is informational. The bytes go on the wire and into the
exchange hash as they are; our negotiation reads the real names."""

from harness.scenario import *

BAD = {
    "empty_name": b"x@harness.invalid,,",
    "trailing_comma": b"x@harness.invalid,",
    "long_name": b"n" * 65 + b",",
    "nul": b"nul\x00@harness.invalid,",
    "non_ascii": "n\u00e4me@harness.invalid,".encode(),
    "space": b"a name@harness.invalid,",
}


def _kexinit(bad):
    def edit(msg, ctx):
        w = Writer().byte(20).raw(msg.cookie)
        names = ",".join(msg.kex_algorithms).encode()
        # A trailing comma must end the list: in front it would just separate two real names.
        w.string(names + b"," if bad == BAD["trailing_comma"] else bad + names)
        rest = m.KexInit(**{**msg.values(), "kex_algorithms": ("x",)}).encode()
        # skip number, cookie and the placeholder kex list (uint32 1 + "x") of the re-encoded message
        raw = w.getvalue() + rest[1 + 16 + 4 + 1:]
        msg.encode = lambda: raw
        return msg
    return edit


SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"name": tuple(BAD)},
    steps=lambda p: [Connect(kexinit=_kexinit(BAD[p["name"]])), Observe(1, ignore=(m.KexInit,))],
)
