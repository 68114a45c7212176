"""Real peers for the integration tests: OpenSSH sshd and Dropbear as local processes.

One server of each kind per pytest worker (session scope); every test opens its own
connections. A missing binary is a failure with instructions, never a skip.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.peers.base import PeerInfo
from harness.peers.process import start_dropbear_server, start_openssh_server

SERVERS = {
    "openssh": (start_openssh_server, "/usr/sbin/sshd"),
    "dropbear": (start_dropbear_server, "/usr/sbin/dropbear"),
}


def _start(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    starter, binary = SERVERS[kind]
    if not Path(binary).exists() and shutil.which(Path(binary).name) is None:
        pytest.fail(f"{binary} is not installed: run `make setup` (scripts/setup.sh installs it)")
    server = starter(tmp_path_factory.mktemp(kind))
    try:
        yield server.info
    finally:
        server.stop()


@pytest.fixture(scope="session")
def openssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    yield from _start("openssh", tmp_path_factory)


@pytest.fixture(scope="session")
def dropbear_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    yield from _start("dropbear", tmp_path_factory)


@pytest.fixture(scope="session", params=["openssh", "dropbear"])
def server(request: pytest.FixtureRequest) -> PeerInfo:
    return request.getfixturevalue(f"{request.param}_server")
