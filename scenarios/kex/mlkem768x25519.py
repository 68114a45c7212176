"""The post-quantum hybrid mlkem768x25519-sha256 (ML-KEM-768 + X25519) where the peer offers it:
handshake, login, and a 256 KiB echo so the derived keys are really used both ways."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[Offers("kex", "mlkem768x25519-sha256")],
    steps=[Login(kex=("mlkem768x25519-sha256",), expect={"kex": "mlkem768x25519-sha256"}),
           Session("cat"), Echo(256 * 1024)],
)
