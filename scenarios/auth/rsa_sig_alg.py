"""RSA user key: the signature algorithm follows server-sig-algs (RFC 8332/8308): rsa-sha2-512
when the server lists it; login must succeed with it."""

from harness.scenario import *


def _check(ctx):
    algs = ctx.conn.auth.server_sig_algs or ()
    if "rsa-sha2-512" not in algs and "rsa-sha2-256" not in algs:
        raise AssertionError(f"server-sig-algs {algs} offers no SHA-2 RSA signature")


SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd accepts Ed25519 user keys only")],
    steps=[Handshake(), Expect(m.ExtInfo), Call(_check, "server-sig-algs has SHA-2 RSA"),
           Authenticate("publickey", key="rsa")],
)
