"""first_kex_packet_follows in a key re-exchange (RFC 4253 7 applies to every exchange): we send
our guessed kex packet with the rekey KEXINIT. A right guess (the peer's preferred kex and host
key algorithm first) must be used; a wrong one (its second kex method first) must be ignored,
and we then send the right packet. Either way the re-exchange must complete and the connection
keep working."""

from harness.scenario import *


def _ours(info, category):
    return [a for a in info.algorithms[category] if a in our_algorithms(category)]


def _guess(case):
    def arm(ctx):
        kex = _ours(ctx.info, "kex")
        ctx.conn.config.kex_guess = True
        ctx.conn.config.kex = tuple(kex[:1]) if case == "right" else (kex[1], kex[0])
        ctx.conn.config.host_key_algorithms = (ctx.conn.kex.host_key_algorithm,)
    return arm


SCENARIO = Scenario(
    timeout=3,
    params={"guess": ("right", "wrong")},
    steps=lambda p: [Login(), Call(_guess(p["guess"]), f"prepare a {p['guess']} guess"), Rekey(wait=False),
                     WaitKex(timeout=1.5), KexCount(2),
                     Alive(timeout=2)],
)
