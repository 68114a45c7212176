"""Every key exchange method the peer offers (and the harness implements) completes, and the
negotiated method is the one we forced. Catches per-method encoding bugs (mpint vs string, hybrid
KEM layouts, exchange-hash inputs) on either side."""

from harness.scenario import *

SCENARIO = Scenario(
    params={"kex": (
    "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
    "diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1",
    "sntrup761x25519-sha512@openssh.com", "sntrup761x25519-sha512", "mlkem768x25519-sha256",
)},
    requires=[Offers("kex", "{kex}"), Supported("kex", "{kex}")],
    steps=lambda p: [Login(kex=(p["kex"],), expect={"kex": p["kex"]})],
)
