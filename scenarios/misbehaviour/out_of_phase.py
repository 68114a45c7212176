"""A known message in a phase where it is not allowed, once per phase: during the first kex a
SERVICE_REQUEST; before authentication a CHANNEL_OPEN; after it a kex reply, a NEWKEYS outside a
key exchange, a SERVICE_REQUEST. The peer must refuse: UNIMPLEMENTED or a disconnect (recorded)."""

from harness.scenario import *

PHASES = {
    "first_kex": lambda: [Connect(), Send(m.ServiceRequest(service="ssh-userauth"))],
    "userauth": lambda: [Handshake(), Expect(m.ServiceAccept),
                         Send(m.ChannelOpen(channel_type="session", sender=0, initial_window=1024, max_packet=1024,
                                            data=b""))],
    "connected_kex_reply": lambda: [Login(), Send(m.KexEcdhReply(host_key=b"", server_public=b"", signature=b""))],
    "connected_newkeys": lambda: [Login(), Send(m.NewKeys())],
    "connected_service_request": lambda: [Login(), Send(m.ServiceRequest(service="ssh-userauth"))],
}

# What each phase's refusal may look like besides UNIMPLEMENTED or a disconnect: a CHANNEL_OPEN
# before auth may be answered with OPEN_FAILURE; a second SERVICE_REQUEST after auth is not
# forbidden by RFC 4253 10, so SERVICE_ACCEPT is a legitimate reply (Dropbear gives it).
EXTRA = {
    "userauth": {"refused": [Expect(m.ChannelOpenFailure)]},
    "connected_service_request": {"accepted": [Expect(m.ServiceAccept)]},
}

SCENARIO = Scenario(
    params={"phase": tuple(PHASES)},
    timeout=3,
    steps=lambda p: [*PHASES[p["phase"]](),
                     OneOf(unimplemented=[Expect(m.Unimplemented, seq=SentSeq())], disconnect=[ExpectClose()],
                           **EXTRA.get(p["phase"], {}))],
)
