"""A key re-exchange that switches to another key-exchange method: the first exchange uses one
of the peer's methods, the re-exchange offers only a different one (not an alias of the same
math, as curve25519-sha256 and its @libssh.org name are: rekey/changed_algorithms has that).
RFC 4253 9: a re-exchange negotiates afresh, and any method both sides offer may be chosen, so
the re-exchange must complete and the connection keep working. Variants: from the peer's
first method to its next distinct one, and back."""

from harness.scenario import *


def _distinct_methods(info):
    """The peer's first two kex methods that we implement and that are not aliases."""
    picked = []
    for name in info.algorithms["kex"]:
        base = name.split("@")[0]
        if name in our_algorithms("kex") and all(p.split("@")[0] != base for p in picked):
            picked.append(name)
    return picked[:2]


class TwoDistinctMethods(Requirement):
    def check(self, info, params):
        if len(_distinct_methods(info)) < 2:
            return f"{info.peer_id} offers fewer than two distinct kex methods that we implement"
        return None


def _pair(direction):
    def pick(info):
        first, second = _distinct_methods(info)
        return (first, second) if direction == "forward" else (second, first)
    return pick


SCENARIO = Scenario(
    timeout=3,
    params={"direction": ("forward", "back")},
    requires=[TwoDistinctMethods()],
    steps=lambda p: [Login(kex=lambda info: _pair(p["direction"])(info)[:1]),
                     Rekey(kex=lambda info: _pair(p["direction"])(info)[1:], wait=False),
                     WaitKex(timeout=3), KexCount(2), Alive(timeout=2)],
)
