"""An empty name-list in our KEXINIT (kex, host key, cipher or compression): no algorithm can be
agreed, so the peer must end the connection (KEY_EXCHANGE_FAILED if it says why)."""

from harness.scenario import *

FIELDS = {
    "kex": ("kex_algorithms",),
    "host_key": ("server_host_key_algorithms",),
    "cipher": ("encryption_client_to_server", "encryption_server_to_client"),
    "compression": ("compression_client_to_server", "compression_server_to_client"),
}


def _empty(category):
    def edit(msg, ctx):
        for name in FIELDS[category]:
            setattr(msg, name, ())
        return msg
    return edit


SCENARIO = Scenario(
    timeout=3,
    params={"list": tuple(FIELDS)},
    steps=lambda p: [Connect(kexinit=_empty(p["list"])),
                     ExpectClose(reason=DisconnectReason.KEY_EXCHANGE_FAILED, timeout=1.5)],
)
