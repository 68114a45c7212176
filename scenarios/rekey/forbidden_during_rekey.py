"""Messages RFC 4253 7.1 forbids while a key exchange runs, sent after our rekey KEXINIT and
before NEWKEYS: CHANNEL_DATA on an open session, a GLOBAL_REQUEST, a SERVICE_REQUEST. The rule
binds the sender only; the receiver may disconnect, defer or process them. Informational: the
first reaction other than the kex messages themselves is pinned."""

from harness.scenario import *

MESSAGES = {
    "channel_data": m.ChannelData(recipient=Remote(), data=b"during the rekey"),
    "global_request": m.GlobalRequest(request_name="keepalive@openssh.com", want_reply=True, data=b""),
    "service_request": m.ServiceRequest(service="ssh-userauth"),
}

SCENARIO = Scenario(
    informational=True,
    timeout=3,
    params={"message": tuple(MESSAGES)},
    steps=lambda p: [Login(), Session("cat > /dev/null"), Rekey(wait=False), Send(MESSAGES[p["message"]]),
                     Observe(1, ignore=(m.KexInit, m.KexEcdhReply, m.NewKeys, m.GlobalRequest))],
)
