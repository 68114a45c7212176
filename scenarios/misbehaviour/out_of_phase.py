"""A known message in a phase where it is not allowed, once per phase: during the first kex a
SERVICE_REQUEST (RFC 4253 7.1 forbids it there); before authentication a CHANNEL_OPEN; after it
a kex reply, a NEWKEYS outside a key exchange, a SERVICE_REQUEST.

Before authentication the server MUST disconnect (RFC 4252 6: messages 80 and up before
authentication completes); PROTOCOL_ERROR (2) is the acceptable reason if it says one. In the
other phases the peer must refuse: UNIMPLEMENTED naming our packet (RFC 4253 11.4) or a
disconnect with PROTOCOL_ERROR; which one is recorded per peer."""

from harness.scenario import *


def _remember_seq(ctx):
    ctx.vars["stimulus"] = ctx.stimulus_seq


PHASES = {
    "first_kex": lambda: [Connect(), Send(m.ServiceRequest(service="ssh-userauth"))],
    "userauth": lambda: [Handshake(), Expect(m.ServiceAccept),
                         Send(m.ChannelOpen(channel_type="session", sender=0, initial_window=1024, max_packet=1024,
                                            data=b""))],
    "connected_kex_reply": lambda: [Login(), Send(m.KexEcdhReply(host_key=b"", server_public=b"", signature=b""))],
    "connected_newkeys": lambda: [Login(), Send(m.NewKeys())],
    "connected_service_request": lambda: [Login(), Send(m.ServiceRequest(service="ssh-userauth"))],
}


def _steps(p):
    close = ExpectClose(reason=(DisconnectReason.PROTOCOL_ERROR,), timeout=1.5)
    if p["phase"] == "userauth":
        return [*PHASES["userauth"](), close]
    return [*PHASES[p["phase"]](), Call(_remember_seq, "remember our packet's sequence number"),
            OneOf(unimplemented=[Expect(m.Unimplemented, seq=Var("stimulus"))], disconnect=[close], timeout=1.5)]


SCENARIO = Scenario(timeout=3, params={"phase": tuple(PHASES)}, steps=_steps)
