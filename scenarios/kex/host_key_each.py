"""Every host key algorithm the peer offers can be selected and its signature over the exchange
hash verifies (RSA with SHA-1 and SHA-2, ECDSA curves, Ed25519, DSA)."""

from harness.scenario import *

SCENARIO = Scenario(
    params={"alg": ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                    "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-dss")},
    requires=[Offers("host_key", "{alg}"), Supported("host_key", "{alg}")],
    steps=lambda p: [Handshake(host_key_algorithms=(p["alg"],), expect={"host_key_algorithm": p["alg"]})],
)
