"""Client role: our server signs something other than the exchange hash. The client MUST verify
the host key's signature over H (RFC 4253 8) and must not go on: it ends the connection
(KEY_EXCHANGE_FAILED or HOST_KEY_NOT_VERIFIABLE if it sends a DISCONNECT)."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    steps=[Connect(host_keys=server_keys.bad_signature()),
           ExpectClose(reason=(DisconnectReason.KEY_EXCHANGE_FAILED, DisconnectReason.HOST_KEY_NOT_VERIFIABLE))],
)
