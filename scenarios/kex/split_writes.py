"""TCP stream tamper: our version line and KEXINIT arrive one byte per write. SSH runs over a byte
stream, so the peer must reassemble and complete the handshake."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Tamper(SplitWrites(size=1)), Handshake()],
)
