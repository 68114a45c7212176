"""A packet that is consistent in every field (both lengths true, padding at least 4 bytes, a
valid MAC or tag) but whose length is not a multiple of the cipher block size: RFC 4253 6 says
packet_length || padding_length || payload || padding MUST be a multiple of the block size or 8,
so the packet is invalid and the peer must end the connection. One variant per protection
family (AEAD ChaCha20-Poly1305 and AES-GCM, CTR with an encrypt-and-MAC and an encrypt-then-MAC).

Acceptable reasons if the peer sends a DISCONNECT: PROTOCOL_ERROR (2) (a framing rule broken)
or MAC_ERROR (5) (peers that check alignment only through the MAC)."""

from harness.scenario import *

PROTECTION = {
    "chacha20-poly1305": {"ciphers": ("chacha20-poly1305@openssh.com",)},
    "aes128-gcm": {"ciphers": ("aes128-gcm@openssh.com",)},
    "aes128-ctr_hmac-sha2-256": {"ciphers": ("aes128-ctr",), "macs": ("hmac-sha2-256",)},
    "aes128-ctr_hmac-sha2-256-etm": {"ciphers": ("aes128-ctr",), "macs": ("hmac-sha2-256-etm@openssh.com",)},
}


class OffersProtection(Requirement):
    def check(self, info, params):
        wanted = PROTECTION[params["protection"]]
        for key, category in (("ciphers", "cipher_c2s"), ("macs", "mac_c2s")):
            for name in wanted.get(key, ()):
                if name not in info.algorithms.get(category, ()):
                    return f"{info.peer_id} does not offer {name}"
        return None


SCENARIO = Scenario(
    timeout=3,
    params={"protection": tuple(PROTECTION)},
    requires=[OffersProtection()],
    steps=lambda p: [Login(**PROTECTION[p["protection"]]), Send(m.Ignore(data=b"x" * 40), ExtraPadding(1)),
                     ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR, DisconnectReason.MAC_ERROR), timeout=1.5)],
)
