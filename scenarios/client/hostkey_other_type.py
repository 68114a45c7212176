"""Client role: the key exchange negotiated an Ed25519 host key, but our KEX_ECDH_REPLY carries
an ECDSA or RSA key, correctly signed by that key. The host key must be of the negotiated type
(RFC 4253 7.1, 8): the client must end the connection (KEY_EXCHANGE_FAILED or
HOST_KEY_NOT_VERIFIABLE if it sends a DISCONNECT)."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    params={"key_type": ("ecdsa", "rsa")},
    steps=lambda p: [
        Connect(host_keys=server_keys.other_type(p["key_type"])),
        ExpectClose(reason=(DisconnectReason.KEY_EXCHANGE_FAILED, DisconnectReason.HOST_KEY_NOT_VERIFIABLE)),
    ],
)
