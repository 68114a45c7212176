"""Client role: our server sends hostkeys-00@openssh.com (OpenSSH's host key rotation, PROTOCOL
2.5) listing keys that are junk: blobs that are no keys, or the real host key next to one. Not
an RFC message: informational (OpenSSH's UpdateHostKeys parses it; others ignore the request)."""

from harness.scenario import *

_JUNK = Writer().string(b"ssh-ed25519").string(b"short").getvalue()


def _data(p, ctx):
    from harness.scenario.peers import server_host_key

    blobs = {"junk": [b"\x00" * 7, _JUNK], "real_and_junk": [server_host_key().asbytes(), _JUNK]}[p["keys"]]
    return m.GlobalRequest(request_name="hostkeys-00@openssh.com", want_reply=False,
                           data=server_keys.hostkeys_data(blobs))  # fmt: skip


SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"keys": ("junk", "real_and_junk")},
    steps=lambda p: [ServeSession(), Send(lambda ctx: _data(p, ctx)), Observe(2)],
)
