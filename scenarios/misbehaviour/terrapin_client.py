"""Server role, the Terrapin check against clients: our server sends IGNORE before its KEXINIT
while announcing strict kex; a strict client must disconnect."""

from harness.scenario import *

SCENARIO = Scenario(
    strict_kex=True,
    role=SERVER,
    steps=[Connect(start=False), SendVersion(), Send(m.Ignore(data=b"")), StartKex(), ExpectClose()],
)
