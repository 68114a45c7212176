"""Different algorithms in the two directions: RFC 4253 7.1 negotiates each direction on its
own (the client-to-server and server-to-client lists may differ), so a peer must agree on one
cipher, MAC or compression per direction, and the keys derived for each must work (the login
afterwards runs under them)."""

from harness.scenario import *

PAIRS = {
    "cipher": ("encryption_client_to_server", "encryption_server_to_client", "aes128-ctr", "aes256-ctr",
               "cipher_out", "cipher_in"),
    "mac": ("mac_client_to_server", "mac_server_to_client", "hmac-sha2-256", "hmac-sha2-512", "mac_out", "mac_in"),
    "compression": ("compression_client_to_server", "compression_server_to_client", "none", "zlib@openssh.com",
                    "compression_out", "compression_in"),
}


def _split(category):
    c2s, s2c, out_alg, in_alg, _, _ = PAIRS[category]

    def edit(msg, ctx):
        setattr(msg, c2s, (out_alg,))
        setattr(msg, s2c, (in_alg,))
        if category == "mac":
            msg.encryption_client_to_server = msg.encryption_server_to_client = ("aes128-ctr",)
        return msg
    return edit


class OffersBoth(Requirement):
    """The peer offers both algorithms of the variant (and aes128-ctr for the MAC one)."""

    def check(self, info, params):
        category = params["category"]
        _, _, out_alg, in_alg, _, _ = PAIRS[category]
        key = {"cipher": "cipher_c2s", "mac": "mac_c2s", "compression": "compression_c2s"}[category]
        needed = [out_alg, in_alg] + (["aes128-ctr"] if category == "mac" else [])
        offered = set(info.algorithms.get(key, ())) | set(info.algorithms.get("cipher_c2s", ()))
        missing = [n for n in needed if n not in offered]
        return f"{info.peer_id} does not offer {', '.join(missing)}" if missing else None


def _steps(p):
    _, _, out_alg, in_alg, out_field, in_field = PAIRS[p["category"]]
    return [Connect(kexinit=_split(p["category"])), WaitKex(timeout=3, **{out_field: out_alg, in_field: in_alg}),
            Authenticate()]


SCENARIO = Scenario(timeout=3, params={"category": tuple(PAIRS)}, requires=[OffersBoth()], steps=_steps)
