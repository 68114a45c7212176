"""Our client against real OpenSSH and Dropbear: every algorithm, every auth method, bulk data.

Algorithms are parametrized from our own registries; each test asks the running peer (its
KEXINIT, read by the launcher) whether it offers the algorithm. One it does not offer is
reported as a skip whose reason names the peer and the algorithm, so `pytest -rs` lists
exactly what each peer lacks.
"""

from __future__ import annotations

import pytest

from harness.crypto_names import ALGORITHM_CATEGORIES
from harness.interop import check_algorithm, connect, echo_transfer, peer_offers, run
from harness.peers.base import PeerInfo

pytestmark = pytest.mark.peer

CASES = [(cat, alg) for cat, algs in ALGORITHM_CATEGORIES.items() for alg in algs]


@pytest.mark.parametrize(("category", "algorithm"), CASES, ids=[f"{c}:{a}" for c, a in CASES])
def test_algorithm(server: PeerInfo, category: str, algorithm: str) -> None:
    if not peer_offers(server, category, algorithm):
        pytest.skip(f"{server.peer_id} does not offer {category} {algorithm}")
    check_algorithm(server, category, algorithm)


@pytest.mark.parametrize("key_name", ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem",
                                      "ed25519-encrypted"])  # fmt: skip
def test_publickey_auth(server: PeerInfo, key_name: str) -> None:
    t = connect(server, auth="publickey", key_name=key_name)
    try:
        assert t.is_authenticated()
        assert run(t, "echo $USER")[0].strip() == server.username.encode()
    finally:
        t.close()


def test_password_auth_and_wrong_password(server: PeerInfo) -> None:
    from harness import AuthenticationException

    t = connect(server, auth="none")
    try:
        with pytest.raises(AuthenticationException):
            t.auth_password(server.username, "wrong-password")
        t.auth_password(server.username, server.password)
        assert t.is_authenticated()
    finally:
        t.close()


def test_keyboard_interactive(openssh_server: PeerInfo) -> None:
    t = connect(openssh_server, auth="interactive")
    try:
        assert t.is_authenticated()
    finally:
        t.close()


def test_bulk_64mib_each_way_across_rekey(server: PeerInfo) -> None:
    """64 MiB up and 64 MiB down through `cat`, checksummed, with a forced rekey mid-stream."""
    t = connect(server)
    try:
        echo_transfer(t, 64 << 20, rekey_at=16 << 20, timeout=300)
        assert t.negotiated is not None and not t.negotiated.first
    finally:
        t.close()


def test_several_channels_at_once(server: PeerInfo) -> None:
    """Four `cat` channels open together, data interleaved, each echo checked.

    The commands wait for stdin, so no child exits while channels are being opened: Dropbear
    2022.83 closes a session channel that has no command yet when it handles another event in
    between (see docs/PEERS.md), which a fast `echo` on an earlier channel would trigger.
    """
    t = connect(server)
    try:
        chans = []
        for _ in range(4):
            chan = t.open_session()
            chan.exec_command("cat")
            chans.append(chan)
        for i, chan in enumerate(chans):
            chan.sendall(f"channel-{i}\n".encode() * 1000)
        for chan in chans:
            chan.shutdown_write()
        for i, chan in enumerate(chans):
            data = b""
            while chunk := chan.recv(65536):
                data += chunk
            assert data == f"channel-{i}\n".encode() * 1000
            assert chan.recv_exit_status() == 0
    finally:
        t.close()


def test_pty_env_and_shell(openssh_server: PeerInfo) -> None:
    t = connect(openssh_server)
    try:
        chan = t.open_session()
        chan.get_pty(term="xterm", width=100, height=40)
        chan.invoke_shell()
        chan.sendall(b"stty size; exit 7\n")
        data = b""
        while True:
            chunk = chan.recv(4096)
            if not chunk:
                break
            data += chunk
        assert b"40 100" in data
        assert chan.recv_exit_status() == 7
    finally:
        t.close()


def test_global_request_and_keepalive(server: PeerInfo) -> None:
    t = connect(server)
    try:
        # An unknown global request must be refused (REQUEST_FAILURE), not ignored.
        assert t.global_request("nonexistent@harness", wait=True, timeout=10) is None
        t.send_ignore()
        t.set_keepalive(1)
        assert run(t, "sleep 2; echo alive")[0] == b"alive\n"
        assert t.is_active()
    finally:
        t.close()


def test_exit_signal(openssh_server: PeerInfo) -> None:
    t = connect(openssh_server)
    try:
        chan = t.open_session()
        chan.exec_command("kill -TERM $$")
        assert chan.recv_exit_status() == -1
        assert chan.exit_signal == "TERM"
    finally:
        t.close()


def test_host_key_mismatch_is_refused(server: PeerInfo) -> None:
    from harness import HostKeyMismatch, Transport
    from harness.ssh.keys import Ed25519Key

    t = Transport(server.address)
    with pytest.raises(HostKeyMismatch):
        t.connect(hostkey=Ed25519Key.generate().public_key)
    assert not t.is_active()
    t.close()


@pytest.mark.parametrize("right", [True, False], ids=["right-guess", "wrong-guess"])
def test_first_kex_packet_follows(server: PeerInfo, right: bool) -> None:
    """We send our kex INIT with KEXINIT (RFC 4253 7); a wrong guess must be ignored by the peer."""
    from harness import Transport
    from harness.ssh.kex.methods import KEX_METHODS
    from harness.ssh.keys import HostKeys

    server_kex = [k for k in server.algorithms["kex"] if k in KEX_METHODS]
    server_hk = server.algorithms["host_key"]
    if right:
        kex = (server.algorithms["kex"][0],)
        assert kex[0] in KEX_METHODS, f"{server.peer_id} prefers {kex[0]}, which we lack"
        key_types = (server_hk[0],)
    else:
        kex = (server_kex[-1], server.algorithms["kex"][0])  # first choice differs from the server's
        key_types = tuple(server_hk)
    t = Transport(server.address)
    t._config.kex_guess = True
    opts = t.get_security_options()
    opts.kex = kex
    opts.key_types = key_types
    known = HostKeys()
    known.load(str(server.known_hosts))
    try:
        t.connect(host_keys=known, hostname=server.host, port=server.port)
        t.auth_password(server.username, server.password)
        assert run(t, "echo ok")[0] == b"ok\n"
        assert t.negotiated is not None
        assert t.negotiated.kex == (kex[0] if right else server_kex[-1])
    finally:
        t.close()
