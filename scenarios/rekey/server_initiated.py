"""A server-initiated key re-exchange: OpenSSH started with RekeyLimit 256K rekeys on its own
during a 2 MiB echo; we must see at least one KEXINIT the peer started and intact data."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[PeerOptions(openssh={"extra_config": {"RekeyLimit": "256K"}},
                          why="needs a server-side rekey limit (sshd RekeyLimit)")],
    steps=[Login(), Session("cat"), Echo(2 * 1024 * 1024), KexCount(2),
           Call(lambda ctx: _peer_started(ctx), "a rekey was started by the peer")],
)


def _peer_started(ctx):
    if not any(isinstance(e, ev.KexStarted) and not e.initiated_by_us for e in ctx.log):
        raise AssertionError("every rekey was started by us; the peer never started one")
