"""Real SSH peers for the harness: launcher-neutral :class:`PeerInfo` and the local-process launcher.

Why a package: scenarios ask for "a peer" and get a :class:`PeerInfo`; whether it runs as a local
process (:mod:`harness.peers.process`) or, later, a Docker container is the launcher's business.
"""

from harness.peers.base import (
    CLIENT_KEY_PASSPHRASE,
    LOOPBACK,
    PeerError,
    PeerInfo,
    PeerStartError,
    client_keys,
)
from harness.peers.probe import ProbeError, read_server_identification, read_server_kexinit
from harness.peers.process import ProcessServer, start_dropbear_server, start_openssh_server
from harness.peers.testuser import TEST_PASSWORD, TEST_USER, TestUserError, ensure_test_user

__all__ = [
    "CLIENT_KEY_PASSPHRASE",
    "LOOPBACK",
    "TEST_PASSWORD",
    "TEST_USER",
    "PeerError",
    "PeerInfo",
    "PeerStartError",
    "ProbeError",
    "ProcessServer",
    "TestUserError",
    "client_keys",
    "ensure_test_user",
    "read_server_identification",
    "read_server_kexinit",
    "start_dropbear_server",
    "start_openssh_server",
]
