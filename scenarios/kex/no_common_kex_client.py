"""Server role: our KEXINIT offers no kex method the client knows; the client peer must end the
connection (KEY_EXCHANGE_FAILED if it sends a DISCONNECT)."""

from harness.scenario import *


def _no_kex(msg, ctx):
    msg.kex_algorithms = ("nonexistent-kex@harness.invalid", "kex-strict-s-v00@openssh.com")
    return msg


SCENARIO = Scenario(
    role=SERVER,
    steps=[Connect(kexinit=_no_kex), ExpectClose(reason=DisconnectReason.KEY_EXCHANGE_FAILED)],
)
