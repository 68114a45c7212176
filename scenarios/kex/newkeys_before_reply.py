"""NEWKEYS right after our KEXINIT, before any key exchange message: no keys exist yet, so the
peer must refuse it and end the connection instead of switching to undefined keys."""

from harness.scenario import *

SCENARIO = Scenario(
    steps=[Connect(), Send(m.NewKeys()), ExpectClose()],
)
