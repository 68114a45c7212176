"""Network faults in every connection phase, through harness.faultproxy, our client against sshd.

For delay, 1-byte writes and a finite stall the session must survive and every echoed channel
byte arrive exactly once (checksum); for an endless stall, a truncation and a reset our side must
end with a typed error (SSHException or TimeoutError) within its timeout, and sshd must survive.
"""

from __future__ import annotations

import pytest

from harness import soak
from harness.peers.base import PeerInfo

pytestmark = pytest.mark.peer

CASES = [(k, p, d) for k in soak.FAULT_KINDS for p in soak.PHASES for d in ("c2s", "s2c")]


@pytest.fixture(scope="module")
def offsets(sshd: PeerInfo) -> dict[str, dict[str, int]]:
    return soak.calibrate(sshd)


@pytest.mark.parametrize(("kind", "phase", "direction"), CASES, ids=["-".join(c) for c in CASES])
def test_fault(sshd: PeerInfo, offsets: dict[str, dict[str, int]], kind: str, phase: str, direction: str) -> None:
    soak.fault_case(sshd, kind, phase, direction, offsets, timeout=2.0)
    if kind in soak.FATAL:
        soak.peer_alive(sshd)


def test_offsets_land_in_their_phases(offsets: dict[str, dict[str, int]]) -> None:
    for direction in ("c2s", "s2c"):
        order = [offsets[p][direction] for p in soak.PHASES]
        assert order == sorted(order) and len(set(order)) == len(order), offsets
