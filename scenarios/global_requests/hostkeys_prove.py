"""hostkeys-prove-00@openssh.com: we ask the server to prove possession of its host key; the
reply's signature over (request name, session id, key) must verify with that key."""

from harness.scenario import *
from harness.ssh.keys import parse_public_key
from harness.ssh.wire.codec import Reader


def _request(ctx):
    blob = ctx.conn.kex.host_key
    ctx.vars["blob"] = blob
    ctx.conn.global_request("hostkeys-prove-00@openssh.com", True, Writer().string(blob).getvalue())


def _verify(ctx):
    blob = ctx.vars["blob"]
    data = next(e for e in ctx.log if isinstance(e, ev.GlobalReply)).data
    sig = Reader(data, 0).string()
    signed = Writer().string(b"hostkeys-prove-00@openssh.com").string(ctx.conn.session_id).string(blob).getvalue()
    alg = ctx.conn.kex.host_key_algorithm
    if not parse_public_key(blob).verify(alg, signed, sig):
        raise AssertionError(f"hostkeys-prove signature ({alg}) does not verify")


SCENARIO = Scenario(
    requires=[Product(("openssh",), "an OpenSSH extension")],
    steps=[Login(), Call(_request, "GLOBAL_REQUEST hostkeys-prove-00 for the negotiated host key"),
           Expect(m.RequestSuccess),
           Call(_verify, "verify the proof")],
)
