"""Unknown algorithm names ahead of the real ones in one name-list: RFC 4253 7.1 negotiation
takes the first name of the client's list that the server also supports, so the server must skip
names it does not know and agree on the first real one (RFC 4251 6 reserves the name@domain
form for exactly such local extensions). One variant per name-list."""

from harness.scenario import *

UNKNOWN = ("unknown-a@harness.invalid", "unknown-b@harness.invalid", "zz-unknown")
FIELDS = {
    "kex": (("kex_algorithms",), "kex"),
    "host_key": (("server_host_key_algorithms",), "host_key_algorithm"),
    "cipher": (("encryption_client_to_server", "encryption_server_to_client"), "cipher_out"),
    "mac": (("mac_client_to_server", "mac_server_to_client"), "mac_out"),
    "compression": (("compression_client_to_server", "compression_server_to_client"), "compression_out"),
}


def _prefix(category):
    def edit(msg, ctx):
        for name in FIELDS[category][0]:
            setattr(msg, name, UNKNOWN + tuple(getattr(msg, name)))
        if category == "mac":  # MACs are negotiated only with a non-AEAD cipher
            msg.encryption_client_to_server = msg.encryption_server_to_client = ("aes128-ctr",)
        return msg
    return edit


class MacVariantNeedsCtr(Requirement):
    """The mac variant forces aes128-ctr (a MAC is only negotiated with a non-AEAD cipher)."""

    def check(self, info, params):
        if params.get("list") == "mac" and "aes128-ctr" not in info.algorithms.get("cipher_c2s", ()):
            return f"{info.peer_id} offers no aes128-ctr: with AEAD ciphers no MAC is negotiated"
        return None


def _steps(p):
    event_field = FIELDS[p["list"]][1]
    return [Connect(kexinit=_prefix(p["list"])),
            WaitKex(timeout=3, **{event_field: lambda got: got not in UNKNOWN and got is not None})]


SCENARIO = Scenario(
    timeout=3,
    params={"list": tuple(FIELDS)},
    requires=[MacVariantNeedsCtr()],
    steps=_steps,
)
