"""Client role, strict kex (kex-strict-s-v00@openssh.com): our server sends IGNORE, DEBUG or an
unknown message number after its KEXINIT, during the first key exchange. Strict kex allows only
key exchange messages until NEWKEYS: a strict client must end the connection (PROTOCOL_ERROR if
it sends a DISCONNECT; OpenSSH PROTOCOL, "kex-strict")."""

from harness.scenario import *

_STIMULUS = {
    "ignore": m.Ignore(data=b"during strict kex"),
    "debug": m.Debug(always_display=False, message="during strict kex", language=""),
    "unknown": UnknownMessage(150, b"\x00\x00"),
}

SCENARIO = Scenario(
    role=SERVER,
    strict_kex=True,
    params={"message": tuple(_STIMULUS)},
    steps=lambda p: [Connect(), Send(_STIMULUS[p["message"]]), ExpectClose(reason=DisconnectReason.PROTOCOL_ERROR)],
)
