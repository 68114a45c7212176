"""Server role: our server sends 20 lines before its identification line (allowed, RFC 4253
4.2); the client peer must skip them and complete the key exchange."""

from harness.scenario import *

SCENARIO = Scenario(
    role=SERVER,
    steps=[Connect(start=False), SendRaw(b"welcome line\r\n" * 20), StartKex(send_version=True), WaitKex(),
           Expect(m.ServiceRequest)],
)
