"""Strict kex (the Terrapin fix): IGNORE injected during the initial key exchange. Both sides
announced kex-strict, so only kex messages are allowed until NEWKEYS; the peer must disconnect."""

from harness.scenario import *

SCENARIO = Scenario(
    strict_kex=True,
    requires=[KexMarker("kex-strict-s-v00@openssh.com")],
    steps=[Connect(), Send(m.Ignore(data=b"terrapin")), ExpectClose()],
)
