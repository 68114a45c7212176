"""An empty MAC name-list (both directions) with a non-AEAD cipher forced: no MAC can be agreed,
so the peer must end the connection (RFC 4253 7.1: if no algorithm satisfies the conditions,
both sides MUST disconnect). The kex/empty_name_list companion, for the list that only matters
with a non-AEAD cipher.

Acceptable reason: KEY_EXCHANGE_FAILED (3), the code RFC 4250 4.2.2 has for a failed negotiation."""

from harness.scenario import *


def _empty_macs(msg, ctx):
    msg.mac_client_to_server = msg.mac_server_to_client = ()
    msg.encryption_client_to_server = msg.encryption_server_to_client = ("aes128-ctr", "aes256-ctr")
    return msg


SCENARIO = Scenario(
    timeout=3,
    requires=[Offers("cipher", "aes128-ctr")],
    steps=[Connect(kexinit=_empty_macs), ExpectClose(reason=(DisconnectReason.KEY_EXCHANGE_FAILED,), timeout=1.5)],
)
