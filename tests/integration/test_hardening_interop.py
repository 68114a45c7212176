"""Issue 19 fixes against real peers: OpenSSH, Dropbear and paramiko.

- 19.1: bulk data in both roles stays within MAX_OUR_PAYLOAD per packet. OpenSSH and Dropbear
  advertise 32 KiB; paramiko, which accepts any maximum packet size up to 2^32-1, is the real
  peer that announces 2^32-1 (as server and as client), the case that used to give 2 MiB packets.
- 19.4: without server-sig-algs our client signs RSA with SHA-2, which OpenSSH 9.2 accepts and
  whose SHA-1 alternative it refuses.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from harness import AuthenticationException, Transport
from harness.interop import connect, echo_transfer
from harness.peers.base import PeerInfo
from harness.server import ServerInterface
from harness.ssh import policy as pol
from harness.ssh.config import ConnectionConfig
from harness.ssh.keys import Ed25519Key, load_private_key_file
from harness.ssh.keys.known_hosts import HostKeys
from harness.ssh.limits import MAX_OUR_PAYLOAD

pytestmark = pytest.mark.peer

U32_MAX = 0xFFFFFFFF
BULK = 4 << 20
TIMEOUT = 30.0
USER, PASSWORD = "alice", "wonderland"


def _watch(t: Transport) -> list[int]:
    """Sizes of every payload the transport's core frames from now on."""
    sizes: list[int] = []

    def observe(direction: str, seq: int, payload: bytes) -> None:
        if direction == "out":
            sizes.append(len(payload))

    t._conn.packet_observer = observe
    return sizes


def _payload(n: int) -> bytes:
    return hashlib.shake_256(b"issue 19").digest(n)


@pytest.mark.parametrize("peer", ["openssh_server", "dropbear_server"])
def test_bulk_echo_stays_within_our_payload_limit(peer: str, request: pytest.FixtureRequest) -> None:
    info: PeerInfo = request.getfixturevalue(peer)
    t = connect(info)
    try:
        sizes = _watch(t)
        echo_transfer(t, BULK, timeout=TIMEOUT)
        chan_max = max(sizes)
        assert chan_max <= MAX_OUR_PAYLOAD  # OpenSSH's 32 KiB fill it exactly, Dropbear's 24 KiB do not
    finally:
        t.close()


# -- paramiko announcing a 2^32-1 maximum packet ------------------------------------------------


def _paramiko_server_once(listener: socket.socket, on_exec: Callable[[object], None]) -> None:
    import paramiko

    conn, _ = listener.accept()
    key_path = f"/tmp/harness-issue19-hostkey-{listener.getsockname()[1]}"
    Ed25519Key.generate().write_private_key_file(key_path)

    class Iface(paramiko.ServerInterface):
        def get_allowed_auths(self, username: str) -> str:
            return "password"

        def check_auth_password(self, username: str, password: str) -> int:
            return paramiko.AUTH_SUCCESSFUL if (username, password) == (USER, PASSWORD) else paramiko.AUTH_FAILED

        def check_channel_request(self, kind: str, chanid: int) -> int:
            return paramiko.OPEN_SUCCEEDED

        def check_channel_exec_request(self, channel, command) -> bool:  # type: ignore[no-untyped-def]
            threading.Thread(target=on_exec, args=(channel,), daemon=True).start()
            return True

    t = paramiko.Transport(conn, default_window_size=1 << 31, default_max_packet_size=U32_MAX)
    t.add_server_key(paramiko.Ed25519Key.from_private_key_file(key_path))
    t.start_server(server=Iface())


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(TIMEOUT)
    yield sock
    sock.close()


def test_our_client_to_paramiko_server_announcing_max_packet_2_32_minus_1(listener: socket.socket) -> None:
    def digest_of_upload(channel) -> None:  # type: ignore[no-untyped-def]
        h = hashlib.sha256()
        while data := channel.recv(1 << 20):
            h.update(data)
        channel.sendall(h.hexdigest().encode())
        channel.send_exit_status(0)
        channel.close()

    threading.Thread(target=_paramiko_server_once, args=(listener, digest_of_upload), daemon=True).start()
    t = Transport(listener.getsockname())
    try:
        t.connect(username=USER, password=PASSWORD, timeout=TIMEOUT)
        chan = t.open_session(timeout=TIMEOUT)
        chan.settimeout(TIMEOUT)
        chan.exec_command("sha256")
        assert t._conn.channels.get(chan.chanid).remote_max_packet == U32_MAX  # what paramiko announced
        sizes = _watch(t)
        data = _payload(BULK)
        chan.sendall(data)
        chan.shutdown_write()
        reply = b""
        while part := chan.recv(1024):
            reply += part
        assert reply.decode() == hashlib.sha256(data).hexdigest()
        assert chan.recv_exit_status() == 0
        assert max(sizes) == MAX_OUR_PAYLOAD
    finally:
        t.close()


class _Sender(ServerInterface):
    """Our server: password login, and an exec that sends BULK bytes and exits 0."""

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        return pol.AUTH_SUCCESSFUL if (username, password) == (USER, PASSWORD) else pol.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return pol.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command: bytes) -> bool:  # type: ignore[no-untyped-def]
        def send() -> None:
            channel.sendall(_payload(BULK))
            channel.send_exit_status(0)
            channel.close()

        threading.Thread(target=send, daemon=True).start()
        return True


def test_paramiko_client_announcing_max_packet_2_32_minus_1_to_our_server(listener: socket.socket) -> None:
    import paramiko

    served: list[Transport] = []

    def serve() -> None:
        conn, _ = listener.accept()
        t = Transport(conn)
        served.append(t)
        t.add_server_key(Ed25519Key.generate())
        t.start_server(server=_Sender(), timeout=TIMEOUT)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = paramiko.Transport(listener.getsockname())
    try:
        client.connect(username=USER, password=PASSWORD)
        thread.join(TIMEOUT)
        [server] = served
        sizes = _watch(server)
        chan = client.open_session(window_size=1 << 31, max_packet_size=U32_MAX)
        chan.settimeout(TIMEOUT)
        chan.exec_command("send")
        h, total = hashlib.sha256(), 0
        while data := chan.recv(1 << 20):
            h.update(data)
            total += len(data)
        assert chan.recv_exit_status() == 0
        assert (total, h.digest()) == (BULK, hashlib.sha256(_payload(BULK)).digest())
        assert max(sizes) == MAX_OUR_PAYLOAD
    finally:
        client.close()
        for t in served:
            t.close()


# -- RSA signatures without server-sig-algs -----------------------------------------------------


@pytest.fixture(scope="module")
def default_pubkey_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    """sshd with its own default PubkeyAcceptedAlgorithms (the harness's enables every one)."""
    from harness.peers.process import start_openssh_server

    server = start_openssh_server(tmp_path_factory.mktemp("sshd-default-pubkey"),
                                  extra_config={"PubkeyAcceptedAlgorithms": None})  # fmt: skip
    yield server.info
    server.stop()


@pytest.mark.parametrize(("sha1", "accepted"), [(False, True), (True, False)], ids=["default-sha2", "sha1-configured"])
def test_rsa_key_without_server_sig_algs_against_openssh(default_pubkey_sshd: PeerInfo, sha1: bool,
                                                         accepted: bool) -> None:  # fmt: skip
    """OpenSSH 9.2 refuses SHA-1 RSA signatures by default: the old choice failed there, the new
    one logs in."""
    openssh_server = default_pubkey_sshd
    config = ConnectionConfig()
    config.ext_info = False  # no ext-info-c: the server sends no EXT_INFO, so no server-sig-algs
    config.rsa_sha1_signatures = sha1
    t = Transport(openssh_server.address, config=config)
    try:
        host_keys = HostKeys()
        host_keys.load(str(openssh_server.known_hosts))
        t.connect(host_keys=host_keys, hostname=openssh_server.host, port=openssh_server.port, timeout=TIMEOUT)
        key = load_private_key_file(str(openssh_server.client_keys["rsa"]))
        if accepted:
            t.auth_publickey(openssh_server.username, key)
            assert t.is_authenticated() and t._conn.auth.server_sig_algs is None
        else:
            with pytest.raises(AuthenticationException):
                t.auth_publickey(openssh_server.username, key)
    finally:
        t.close()
