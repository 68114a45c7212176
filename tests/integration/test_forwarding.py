"""Client-side port forwarding and the rest of the client API against real servers.

Remote forwarding (tcpip-forward on port 0, data both ways, a handler, cancel) runs against
OpenSSH (a local sshd started here with a Banner), Dropbear (``dropbear_server``) and our own
server (``harness.serve.Listener``); local forwarding (direct-tcpip) goes to a loopback echo
service. The client API checks (USERAUTH_BANNER, keyboard-interactive with a handler,
getpeername, repr) use the same sshd. Every wait has a timeout; polling has a deadline.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import ChannelException, SSHException, Transport
from harness.channel import Channel
from harness.echo import EchoService
from harness.interop import connect
from harness.peers.base import PeerInfo
from harness.peers.process import start_openssh_server
from harness.serve import Listener, ServeConfig
from harness.ssh.keys import Ed25519Key
from tests.integration.polling import poll

pytestmark = pytest.mark.peer

TIMEOUT = 20.0
BANNER = "Authorised use only.\nThis is the harness test banner.\n"
USER, PASSWORD = "fwd-tester", "fwd-pw"


# -- peers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    """A local sshd with a Banner and TCP forwarding explicitly on."""
    work = tmp_path_factory.mktemp("sshd-forwarding")
    banner = work / "banner.txt"
    banner.write_text(BANNER)
    banner.chmod(0o644)
    handle = start_openssh_server(work / "run", extra_config={"Banner": str(banner), "AllowTcpForwarding": "yes"})
    try:
        yield handle.info
    finally:
        handle.stop()


class OurPeer:
    def __init__(self, allow_forwarding: bool = True) -> None:
        self.key = Ed25519Key.generate()
        config = ServeConfig(username=USER, password=PASSWORD, allow_forwarding=allow_forwarding)
        self.listener = Listener([self.key], config).start()

    def connect(self) -> Transport:
        t = Transport(self.listener.address)
        try:
            t.connect(hostkey=self.key, username=USER, password=PASSWORD, timeout=TIMEOUT)
        except BaseException:
            t.close()
            raise
        return t

    def server_transport(self) -> Transport:
        """Our server's side of the (single) connection, once it is serving."""
        poll(lambda: bool(self.listener.transports), "our server to register the connection")
        return self.listener.transports[-1]

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def ours() -> Iterator[OurPeer]:
    peer = OurPeer()
    try:
        yield peer
    finally:
        peer.close()


@dataclass
class Client:
    kind: str  # "openssh", "dropbear" or "ours"
    t: Transport


@pytest.fixture(params=["openssh", "dropbear", "ours"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    """An authenticated client Transport to each kind of server."""
    if request.param == "openssh":
        t = connect(request.getfixturevalue("sshd"))
    elif request.param == "dropbear":
        t = connect(request.getfixturevalue("dropbear_server"))
    else:
        t = request.getfixturevalue("ours").connect()
    try:
        yield Client(request.param, t)
    finally:
        t.close()


# -- helpers -----------------------------------------------------------------------------


def _recv_exactly(recv: Callable[[int], bytes], n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _connect_local(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.settimeout(TIMEOUT)
    return sock


def _refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


# -- remote forwarding -------------------------------------------------------------------


def test_remote_forward_port0_accept_data_both_ways_and_cancel(client: Client) -> None:
    t = client.t
    port = t.request_port_forward("127.0.0.1", 0)
    assert 0 < port < 65536
    with _connect_local(port) as sock:
        chan = t.accept(TIMEOUT)
        assert chan is not None, "no forwarded-tcpip channel within the timeout"
        chan.settimeout(TIMEOUT)
        sock.sendall(b"to the client " * 1000)
        assert _recv_exactly(chan.recv, 14000) == b"to the client " * 1000
        chan.sendall(b"to the socket " * 1000)
        assert _recv_exactly(sock.recv, 14000) == b"to the socket " * 1000
        # EOF travels both ways too.
        sock.shutdown(socket.SHUT_WR)
        assert chan.recv(100) == b""
        chan.close()
        assert sock.recv(100) == b""
    if client.kind == "dropbear":
        # Dropbear (through 2025.89 at least) never finds the listener to cancel and answers
        # REQUEST_FAILURE (mkj/dropbear#413: svr_cancelremotetcp leaves chantype unset). We
        # forget the forward anyway, so a connection to the still-open port is refused by us.
        with pytest.raises(SSHException, match="refused to cancel"):
            t.cancel_port_forward("127.0.0.1", port)
        with _connect_local(port) as sock:
            assert sock.recv(10) == b""  # Dropbear closes it when we reject the channel
        assert t.accept(0.2) is None
    else:
        t.cancel_port_forward("127.0.0.1", port)
        poll(lambda: _refuses(port), f"port {port} to stop listening after cancel")
    assert t.is_active()


def test_remote_forward_with_handler(client: Client) -> None:
    t = client.t
    seen: list[tuple[tuple[str, int], tuple[str, int]]] = []

    def handler(chan: Channel, origin: tuple[str, int], server: tuple[str, int]) -> None:
        seen.append((origin, server))
        assert threading.current_thread() is not threading.main_thread()
        chan.settimeout(TIMEOUT)
        while data := chan.recv(65536):
            chan.sendall(data.upper())
        chan.close()

    port = t.request_port_forward("127.0.0.1", 0, handler=handler)
    for i in range(2):
        with _connect_local(port) as sock:
            payload = f"connection {i} ".encode() * 500
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            assert _recv_exactly(sock.recv, len(payload)) == payload.upper()
            assert sock.recv(10) == b""
            local = sock.getsockname()
        assert seen[i][0][1] == local[1]
        assert seen[i][1] == ("127.0.0.1", port)
    assert t.accept(0.1) is None  # the handler took them: nothing queued
    if client.kind != "dropbear":  # see above: Dropbear refuses every cancel
        t.cancel_port_forward("127.0.0.1", port)


def test_remote_forward_refused_by_server(sshd: PeerInfo) -> None:
    """A non-root user may not forward a privileged port: sshd answers REQUEST_FAILURE."""
    t = connect(sshd)
    try:
        with pytest.raises(SSHException, match="refused"):
            t.request_port_forward("127.0.0.1", 1)
        assert t.is_active()  # a refusal is not fatal
    finally:
        t.close()


def test_forward_refused_when_disabled() -> None:
    peer = OurPeer(allow_forwarding=False)
    try:
        t = peer.connect()
        try:
            with pytest.raises(SSHException, match="refused"):
                t.request_port_forward("127.0.0.1", 0)
        finally:
            t.close()
    finally:
        peer.close()


def test_unrequested_forwarded_channel_is_refused(ours: OurPeer) -> None:
    """A server opening forwarded-tcpip for a port we never asked for gets ADMINISTRATIVELY_PROHIBITED."""
    t = ours.connect()
    try:
        port = t.request_port_forward("127.0.0.1", 0)
        server_side = ours.server_transport()
        other = port + 1 if port < 65535 else 1
        with pytest.raises(ChannelException) as info:
            server_side.open_forwarded_tcpip_channel(("127.0.0.1", 40000), ("127.0.0.1", other))
        assert info.value.code == 1
        # The requested one is accepted (and, with no handler, queued for accept()).
        chan = server_side.open_forwarded_tcpip_channel(("127.0.0.1", 40001), ("127.0.0.1", port))
        accepted = t.accept(TIMEOUT)
        assert accepted is not None
        chan.sendall(b"hello")
        accepted.settimeout(TIMEOUT)
        assert _recv_exactly(accepted.recv, 5) == b"hello"
        # After cancel the same address is refused again.
        t.cancel_port_forward("127.0.0.1", port)
        with pytest.raises(ChannelException):
            server_side.open_forwarded_tcpip_channel(("127.0.0.1", 40002), ("127.0.0.1", port))
        # Other incoming channel types are refused as well.
        with pytest.raises(ChannelException):
            server_side.open_channel("session", timeout=TIMEOUT)
        assert t.is_active()
    finally:
        t.close()


# -- local forwarding --------------------------------------------------------------------


def test_local_forward_direct_tcpip_to_echo_service(client: Client) -> None:
    t = client.t
    echo = EchoService()
    try:
        chan = t.open_channel("direct-tcpip", ("127.0.0.1", echo.port), ("127.0.0.1", 54321), timeout=TIMEOUT)
        chan.settimeout(TIMEOUT)
        payload = bytes(range(256)) * 4096  # 1 MiB: several windows
        sender = threading.Thread(target=chan.sendall, args=(payload,), daemon=True)
        sender.start()
        assert _recv_exactly(chan.recv, len(payload)) == payload
        sender.join(TIMEOUT)
        chan.shutdown_write()
        assert chan.recv(10) == b""
        chan.close()
        # A destination nobody listens on: the server reports CONNECT_FAILED (2).
        closed = socket.create_server(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()
        with pytest.raises(ChannelException) as info:
            t.open_channel("direct-tcpip", ("127.0.0.1", dead_port), ("127.0.0.1", 54322), timeout=TIMEOUT)
        assert info.value.code == 2
        assert t.is_active()
    finally:
        echo.close()


# -- the rest of the client API ----------------------------------------------------------


def test_banner_interactive_handler_peername_and_repr(sshd: PeerInfo) -> None:
    t = Transport(sshd.address)
    try:
        assert repr(t) == "<harness.Transport (unconnected)>"
        from harness.ssh.keys import HostKeys

        known = HostKeys()
        known.load(str(sshd.known_hosts))
        t.connect(host_keys=known, hostname=sshd.host, port=sshd.port)
        assert "keyboard-interactive" in t.auth_none(sshd.username)
        assert t.get_banner() == BANNER

        calls: list[tuple[str, str, list[tuple[str, bool]]]] = []

        def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
            calls.append((title, instructions, prompts))
            return [sshd.password if "assword" in prompt else "" for prompt, _echo in prompts]

        assert t.auth_interactive(sshd.username, handler) == []
        assert t.is_authenticated()
        assert any(prompts for _, _, prompts in calls), calls
        assert all(echo is False for _, _, prompts in calls for _, echo in prompts if prompts)

        assert t.getpeername()[:2] == (sshd.host, sshd.port)
        negotiated = t.negotiated
        assert negotiated is not None
        assert repr(t) == f"<harness.Transport client active (cipher {negotiated.cipher_out}, 0 open channel(s))>"
        chan = t.open_session()
        assert f"cipher {negotiated.cipher_out}, 1 open channel(s)" in repr(t)
        chan.exec_command("true")
        assert chan.recv_exit_status() == 0
        poll(lambda: "0 open channel(s)" in repr(t), "the channel to be closed in repr")
    finally:
        t.close()
    assert "closed" in repr(t)
    assert t.getpeername()[:2] == (sshd.host, sshd.port)


def test_banner_is_none_without_one(ours: OurPeer, tmp_path: Path) -> None:
    t = ours.connect()
    try:
        assert t.get_banner() is None
    finally:
        t.close()
