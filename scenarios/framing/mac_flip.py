"""One flipped bit in the MAC or AEAD tag of a packet, for every protection the peer offers and
we implement (AEAD ChaCha20-Poly1305 and AES-GCM; CTR with HMAC-SHA1/SHA2 in encrypt-and-MAC and
encrypt-then-MAC form). RFC 4253 6.4: the receiver checks the MAC; a packet that fails it must
never be processed, and the connection is over.

Acceptable reason if the peer sends a DISCONNECT: MAC_ERROR (5), the code RFC 4250 4.2.2 has
for exactly this."""

from harness.scenario import *

PROTECTION = {
    "chacha20-poly1305": ("chacha20-poly1305@openssh.com", None),
    "aes128-gcm": ("aes128-gcm@openssh.com", None),
    "aes256-gcm": ("aes256-gcm@openssh.com", None),
    "hmac-sha1": ("aes128-ctr", "hmac-sha1"),
    "hmac-sha2-256": ("aes128-ctr", "hmac-sha2-256"),
    "hmac-sha2-512": ("aes128-ctr", "hmac-sha2-512"),
    "hmac-sha1-etm": ("aes128-ctr", "hmac-sha1-etm@openssh.com"),
    "hmac-sha2-256-etm": ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
    "hmac-sha2-512-etm": ("aes128-ctr", "hmac-sha2-512-etm@openssh.com"),
}


class OffersProtection(Requirement):
    def check(self, info, params):
        cipher, mac = PROTECTION[params["protection"]]
        if cipher not in info.algorithms.get("cipher_c2s", ()):
            return f"{info.peer_id} does not offer {cipher}"
        if mac is not None and mac not in info.algorithms.get("mac_c2s", ()):
            return f"{info.peer_id} does not offer {mac}"
        return None


def _login(p):
    cipher, mac = PROTECTION[p["protection"]]
    return Login(ciphers=(cipher,), **({"macs": (mac,)} if mac else {}))


SCENARIO = Scenario(
    timeout=3,
    params={"protection": tuple(PROTECTION)},
    requires=[OffersProtection()],
    steps=lambda p: [_login(p), Send(m.Ignore(data=b"x" * 48), FlipMac()),
                     ExpectClose(reason=(DisconnectReason.MAC_ERROR,), timeout=1.5)],
)
