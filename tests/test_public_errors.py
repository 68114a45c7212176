"""The public exceptions: paramiko's names in one tree, errors that name the address and quote
what arrived, a local policy refusal that does not blame the peer, and a warning-free import."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import harness
from harness import (
    AuthenticationException,
    BadHostKeyException,
    ChannelException,
    ConnectionLost,
    HostKeyMismatch,
    LocalPolicyError,
    NotAnSSHServer,
    NoValidConnectionsError,
    RemoteProtocolError,
    SSHException,
    SSHTimeout,
    Transport,
    UnknownHostKey,
)
from harness.ssh.packet.version import VersionReader

ROOT = Path(__file__).resolve().parents[1]
TLS_ALERT = b"\x15\x03\x01\x00\x02\x02\x32"  # what a TLS server sends to an SSH client's first line


def test_import_is_warning_free() -> None:
    code = ("import harness, harness.cli, harness.transport, harness.serve; "
            "from harness.ssh.keys import DSSKey; DSSKey.generate()")  # fmt: skip
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_paramiko_names_in_one_tree() -> None:
    assert BadHostKeyException is HostKeyMismatch
    for cls in (AuthenticationException, ChannelException, ConnectionLost, NoValidConnectionsError, SSHTimeout,
                UnknownHostKey, NotAnSSHServer, RemoteProtocolError):  # fmt: skip
        assert issubclass(cls, SSHException), cls
    assert issubclass(SSHTimeout, TimeoutError) and issubclass(NoValidConnectionsError, OSError)
    assert issubclass(UnknownHostKey, LocalPolicyError) and not issubclass(UnknownHostKey, RemoteProtocolError)
    assert not issubclass(UnknownHostKey, HostKeyMismatch)
    assert issubclass(NotAnSSHServer, ConnectionLost)
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_version_reader_refuses_binary_at_once() -> None:
    reader = VersionReader(allow_pre_banner=True)
    with pytest.raises(NotAnSSHServer, match=r"not an SSH server: got b'\\x15\\x03\\x01\\x00\\x02\\x022'"):
        reader.feed(TLS_ALERT)
    reader = VersionReader(allow_pre_banner=True)
    assert reader.feed(b"Welcome \x1b[1mhome\x1b[0m\r\n") == b""  # a coloured pre-banner line is text
    with pytest.raises(NotAnSSHServer, match="Welcome"):
        reader.feed(b"\x00\x00\x00\x0c")
    # The identification line and the first binary packet in one read: the packet is not the banner.
    reader = VersionReader(allow_pre_banner=True)
    assert reader.feed(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x00\x01\x14\x0a\x14") == b"\x00\x00\x01\x14\x0a\x14"
    assert reader.result is not None and reader.result.software_version == "OpenSSH_9.2"


@contextmanager
def fake_server(answer: Callable[[socket.socket], None]) -> Iterator[tuple[str, int]]:
    """A loopback listener whose one connection is handled by ``answer`` in a thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        listener.close()
        thread.join(15)


def _drain(conn: socket.socket) -> None:
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def _tls(conn: socket.socket) -> None:
    conn.recv(256)
    conn.sendall(TLS_ALERT)
    _drain(conn)


def _http(conn: socket.socket) -> None:
    conn.recv(256)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.shutdown(socket.SHUT_WR)
    _drain(conn)


def _silent(conn: socket.socket) -> None:
    _drain(conn)


def test_binary_server_is_refused_at_once_quoting_what_arrived() -> None:
    with fake_server(_tls) as address:
        started = time.monotonic()
        with pytest.raises(NotAnSSHServer, match=r"got b'\\x15\\x03"):
            Transport(address).start_client(timeout=10)
        assert time.monotonic() - started < 5  # not the timeout


def test_http_server_gives_connection_lost_quoting_its_answer() -> None:
    with fake_server(_http) as address, pytest.raises(ConnectionLost, match=r"not an SSH server: got b'HTTP/1\.1 400"):
        Transport(address).start_client(timeout=10)


def test_silent_port_times_out_naming_the_address() -> None:
    with fake_server(_silent) as address:
        with pytest.raises(SSHTimeout, match=f"{address[0]}:{address[1]} sent no SSH identification line") as info:
            Transport(address).start_client(timeout=1)
        assert isinstance(info.value, TimeoutError)


def test_refused_connection_names_the_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NoValidConnectionsError, match=f"127.0.0.1:{port}") as info:
        Transport(("127.0.0.1", port))
    assert list(info.value.errors) == [("127.0.0.1", port)]


def test_unknown_host_key_is_a_local_refusal(caplog: pytest.LogCaptureFixture) -> None:
    from harness.serve import Listener, ServeConfig
    from harness.ssh.keys import Ed25519Key, HostKeys

    listener = Listener([Ed25519Key.generate()], ServeConfig(username="u", password="p"), host="127.0.0.1",
                        port=0).start()  # fmt: skip
    host, port = listener.address[:2]
    try:
        client = Transport((host, port))
        with caplog.at_level(logging.WARNING), pytest.raises(UnknownHostKey, match=f"unknown host \\[{host}\\]:{port}"):
            client.connect(host_keys=HostKeys(), hostname=host, port=port, timeout=10)
        assert not isinstance(client.get_exception(), RemoteProtocolError)
        assert "internal error" not in caplog.text and "protocol error from peer" not in caplog.text
        client.close()
    finally:
        listener.close()
