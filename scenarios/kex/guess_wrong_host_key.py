"""A wrong guess in the host key algorithm alone (RFC 4253 7): our KEXINIT lists the peer's
preferred kex method first, so the guessed kex packet is of the method that will be used, but
our first host key algorithm is not the peer's first, so the guess is wrong all the same and the
peer MUST ignore the guessed packet. A peer that compares only the kex methods would answer it,
then meet our second KEX_ECDH_INIT (or sign with the wrong host key)."""

from harness.scenario import *


def _kex(info):
    return tuple(a for a in info.algorithms["kex"] if a in our_algorithms("kex"))[:1]


def _host_keys(info):
    ours = [a for a in info.algorithms["host_key"] if a in our_algorithms("host_key")]
    return (ours[1], ours[0])


class TwoHostKeys(Requirement):
    def check(self, info, params):
        if len([a for a in info.algorithms.get("host_key", ()) if a in our_algorithms("host_key")]) < 2:
            return f"{info.peer_id} offers a single host key algorithm: no host-key-only wrong guess"
        return None


SCENARIO = Scenario(
    timeout=3,
    requires=[TwoHostKeys()],
    steps=[Login(kex_guess=True, kex=_kex, host_key_algorithms=_host_keys)],
)
