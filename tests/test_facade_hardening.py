"""Issue 19.3 and 19.7 through the paramiko-style facade: our client Transport against our server
Transport over a socket pair, the server misbehaving through the core's send_unchecked seam.

- Peer text (banner, DEBUG, DISCONNECT) reaches the log and the raised exceptions escaped.
- After a peer's violation kills the connection, the data, EOF and exit status that arrived
  before it are still handed to the application, in both roles.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness.channel import Channel
from harness.server import ServerInterface
from harness.ssh import policy as pol
from harness.ssh.config import ConnectionConfig
from harness.ssh.errors import PeerDisconnected, RemoteProtocolError
from harness.ssh.keys import Ed25519Key
from harness.ssh.wire import messages as m
from harness.transport import Transport

HOSTILE = "hi \x1b[2J\x1b]0;owned\x07\r\nforged line \u202eevil"
TIMEOUT = 10.0


class _Server(ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        return pol.AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return pol.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        return True


@dataclass
class _Linked:
    client: Transport
    server: Transport

    def unchecked(self, side: Transport, msg: m.Message) -> None:
        side._call(lambda: side._conn.send_unchecked(msg))

    def remote_id(self, side: Transport, chan: Channel) -> int:
        remote = side._conn.channels.get(chan.chanid).remote_id
        assert remote is not None
        return remote


@pytest.fixture
def linked() -> Iterator[_Linked]:
    a, b = socket.socketpair()
    config = ConnectionConfig()
    config.auth_banner = HOSTILE
    server = Transport(b, config=config)
    server.default_timeout = client_timeout = TIMEOUT
    server.add_server_key(Ed25519Key.generate())
    started = threading.Thread(target=lambda: server.start_server(server=_Server(), timeout=TIMEOUT), daemon=True)
    started.start()
    client = Transport(a)
    client.default_timeout = client_timeout
    try:
        client.connect(hostkey=None, username="alice", password="x", timeout=TIMEOUT)
        started.join(TIMEOUT)
        yield _Linked(client, server)
    finally:
        client.close()
        server.close()


def _session(linked: _Linked) -> tuple[Channel, Channel]:
    chan = linked.client.open_session(timeout=TIMEOUT)
    served = linked.server.accept(TIMEOUT)
    assert served is not None
    chan.exec_command("anything")
    return chan, served


def test_peer_text_is_escaped_in_logs_and_exceptions(linked: _Linked, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="harness.transport")
    assert linked.client.get_banner() == HOSTILE  # the data itself is kept as sent
    linked.unchecked(linked.server, m.Debug(always_display=True, message=HOSTILE, language=""))
    linked.unchecked(linked.server, m.Disconnect(reason=11, description=HOSTILE, language=""))
    linked.server.close()  # a peer closes its socket after DISCONNECT; waiters wake on that
    with pytest.raises(PeerDisconnected) as info:
        linked.client.wait_until(lambda: False, TIMEOUT, "the DISCONNECT")
    assert str(info.value).isprintable() and "\\x1b[2J" in str(info.value)
    shown = [r.getMessage() for r in caplog.records]
    assert any("peer debug message" in line for line in shown) and any("peer disconnected" in line for line in shown)
    assert all(line.isprintable() for line in shown), [line for line in shown if not line.isprintable()]


def test_client_keeps_data_and_exit_status_sent_before_data_after_eof(linked: _Linked) -> None:
    chan, served = _session(linked)
    served.sendall(b"output")
    served.send_exit_status(3)
    served.shutdown_write()
    linked.unchecked(linked.server, m.ChannelData(recipient=linked.remote_id(linked.server, served), data=b"late"))
    linked.client.wait_until(lambda: linked.client.get_exception() is not None, TIMEOUT, "the violation")
    assert isinstance(linked.client.get_exception(), RemoteProtocolError)
    assert chan.recv(100) == b"output"
    assert chan.recv(100) == b""
    assert chan.recv_exit_status() == 3


def test_server_keeps_data_sent_before_data_after_eof(linked: _Linked) -> None:
    chan, served = _session(linked)
    chan.sendall(b"input")
    chan.shutdown_write()
    linked.unchecked(linked.client, m.ChannelData(recipient=linked.remote_id(linked.client, chan), data=b"late"))
    linked.server.wait_until(lambda: linked.server.get_exception() is not None, TIMEOUT, "the violation")
    assert isinstance(linked.server.get_exception(), RemoteProtocolError)
    buf = bytearray(100)
    n = served.recv_into(memoryview(buf))
    assert bytes(buf[:n]) == b"input" and served.recv(100) == b""


def test_without_a_status_the_violation_is_what_the_reader_gets(linked: _Linked) -> None:
    chan, served = _session(linked)
    linked.unchecked(linked.server, m.ChannelData(recipient=linked.remote_id(linked.server, served),
                                                  data=bytes(3 * 1024 * 1024)))  # fmt: skip
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        chan.recv_exit_status()
