"""Client role: our KEX_ECDH_REPLY is malformed: the host key blob is no key, the signature blob
is garbage, or the signature is empty. No exchange hash can be verified, so the client must end
the connection (RFC 4253 8; PROTOCOL_ERROR, KEY_EXCHANGE_FAILED or HOST_KEY_NOT_VERIFIABLE if it
sends a DISCONNECT)."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    params={"part": ("junk_host_key", "junk_signature", "empty_signature")},
    steps=lambda p: [
        Connect(host_keys=server_keys.malformed(p["part"])),
        ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR, DisconnectReason.KEY_EXCHANGE_FAILED,
                            DisconnectReason.HOST_KEY_NOT_VERIFIABLE)),
    ],
)
