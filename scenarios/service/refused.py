"""Service requests the server must refuse right after the first key exchange: "ssh-connection"
before any authentication, a service that does not exist, and an empty name. RFC 4253 10: if the
server rejects a service request it SHOULD send an appropriate DISCONNECT and MUST disconnect.

Acceptable reason: SERVICE_NOT_AVAILABLE (7), the code RFC 4250 4.2.2 has for a service the
server will not provide; a plain close also passes."""

from harness.scenario import *


def _hold_service_request(ctx):
    ctx.conn.auth.service_requested = True  # the core would send ssh-userauth as soon as the kex ends


SERVICES = {"ssh_connection": "ssh-connection", "unknown": "no-such-service@harness.invalid", "empty": ""}

SCENARIO = Scenario(
    timeout=3,
    params={"service": tuple(SERVICES)},
    steps=lambda p: [Connect(), Call(_hold_service_request, "hold back our SERVICE_REQUEST"), WaitKex(timeout=3),
                     Send(m.ServiceRequest(service=SERVICES[p["service"]])),
                     ExpectClose(reason=(DisconnectReason.SERVICE_NOT_AVAILABLE,), timeout=1.5)],
)
