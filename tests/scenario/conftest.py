"""Shared fixtures of the scenario-engine tests: our own server over loopback as a peer."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest


@pytest.fixture
def server() -> Iterator[SimpleNamespace]:
    """Our server on a free loopback port, described as a PeerInfo-like namespace."""
    from harness.serve import Listener, ServeConfig
    from harness.ssh.keys import Ed25519Key

    listener = Listener([Ed25519Key.generate()], ServeConfig(username="u", password="p")).start()
    host, port = listener.address
    yield SimpleNamespace(peer_id="local", product="harness", address=(host, port), username="u", password="p",
                          extra={"auth_methods": "password"}, algorithms={})  # fmt: skip
    listener.close()
