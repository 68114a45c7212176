"""KEXINIT with nothing in common in one list: the peer must end the connection, and if it sends
a DISCONNECT its reason must be KEY_EXCHANGE_FAILED (3). One variant per name-list."""

from harness.scenario import *

FIELDS = {
    "kex": ("kex_algorithms",),
    "host_key": ("server_host_key_algorithms",),
    "cipher": ("encryption_client_to_server", "encryption_server_to_client"),
    "mac": ("mac_client_to_server", "mac_server_to_client"),
    "compression": ("compression_client_to_server", "compression_server_to_client"),
}


def _kexinit(category):
    def edit(msg, ctx):
        for name in FIELDS[category]:
            setattr(msg, name, ("nonexistent-algorithm@harness.invalid",))
        if category == "mac":  # MACs only matter with a non-AEAD cipher
            msg.encryption_client_to_server = msg.encryption_server_to_client = ("aes128-ctr",)
        return msg
    return edit


SCENARIO = Scenario(
    params={"list": tuple(FIELDS)},
    requires=[OffersNonAead()],
    steps=lambda p: [Connect(kexinit=_kexinit(p["list"])),
                     ExpectClose(reason=DisconnectReason.KEY_EXCHANGE_FAILED)],
)
