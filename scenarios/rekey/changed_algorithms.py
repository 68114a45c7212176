"""A rekey with a different algorithm set: first curve25519-sha256, then the @libssh.org alias;
the second exchange must negotiate the new preference."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[Offers("kex", "curve25519-sha256@libssh.org")],
    steps=[Login(kex=("curve25519-sha256",)), Session("cat"),
           Rekey(kex=("curve25519-sha256@libssh.org",), expect={"kex": "curve25519-sha256@libssh.org"}),
           Echo(32 * 1024)],
)
