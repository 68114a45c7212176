"""hostkeys-prove-00@openssh.com (OpenSSH PROTOCOL 2.5) with data no server can prove: a blob that
is not a key, a valid key that is not one of the server's host keys, and a string whose length
runs past the end of the request. A server that implements the extension cannot sign for those;
one that does not implement it does not recognise the request (RFC 4254 4). Either way the
answer is REQUEST_FAILURE."""

from harness.scenario import *
from harness.ssh.keys import Ed25519Key

DATA = {
    "not_a_key": lambda ctx: Writer().string(b"this is not a key blob").getvalue(),
    "foreign_key": lambda ctx: Writer().string(Ed25519Key.generate(ctx.rng.randbytes(32)).asbytes()).getvalue(),
    "truncated": lambda ctx: b"\x00\x00\x01\x00" + b"short",
}


def _request(case):
    def send(ctx):
        ctx.conn.global_request("hostkeys-prove-00@openssh.com", True, DATA[case](ctx))
    return send


SCENARIO = Scenario(
    timeout=3,
    params={"data": tuple(DATA)},
    steps=lambda p: [Login(), Call(_request(p["data"]), "GLOBAL_REQUEST hostkeys-prove-00 with bad data"),
                     Expect(m.RequestFailure, timeout=1.5)],
)
