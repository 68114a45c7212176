"""Fixtures of the short soak and fault forms: one local sshd per module, a leak baseline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.peers.base import PeerInfo
from harness.peers.process import start_openssh_server


@pytest.fixture(scope="module")
def sshd() -> Iterator[PeerInfo]:
    server = start_openssh_server(extra_config={"LogLevel": "ERROR"})
    try:
        yield server.info
    finally:
        server.stop()
