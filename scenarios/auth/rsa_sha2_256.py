"""RSA user key signed with rsa-sha2-256 explicitly (the other SHA-2 variant) must be accepted."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd accepts Ed25519 user keys only")],
    steps=[Handshake(), Authenticate("publickey", key="rsa", algorithm="rsa-sha2-256")],
)
