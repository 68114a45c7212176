"""Regressions for the defects of our own stack that the self-probe (test_selfprobe.py) found,
one small real-socket test each, so each stays fixed even if the scenario that found it changes.
(The core's own fixes have theirs in tests/core: test_phase_table.py and test_phases.py.)"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.echo import EchoService
from harness.serve import Listener, ServeConfig
from harness.ssh.connection import disconnect_payload
from harness.ssh.errors import SSHException
from harness.ssh.keys import Ed25519Key
from harness.transport import Transport

BOUND = 5.0  # every wait here; a fixed defect answers in milliseconds


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=BOUND).close()
    except ConnectionRefusedError:
        return True
    return False


def _eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _accept_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "accept" in t.name and t.is_alive()}


@pytest.fixture
def served() -> Iterator[tuple[Listener, Transport]]:
    """Our server, and our client logged in to it."""
    listener = Listener([Ed25519Key.generate()], ServeConfig(username="u", password="p")).start()
    transport = Transport(socket.create_connection(listener.address, timeout=BOUND))
    transport.connect(username="u", password="p", timeout=BOUND)
    yield listener, transport
    transport.close()
    listener.close()


def test_closing_the_echo_service_ends_its_accept_thread_and_frees_the_port() -> None:
    """close() alone left the thread blocked in accept() and the port listening."""
    before = _accept_threads()
    echo = EchoService()
    (thread,) = _accept_threads() - before
    with socket.create_connection(("127.0.0.1", echo.port), timeout=BOUND) as conn:  # the loop is in accept()
        conn.sendall(b"x")
        assert conn.recv(1) == b"x"
    echo.close()
    assert _eventually(lambda: not thread.is_alive()), "the echo service's accept thread outlived close()"
    assert _refuses(echo.port)


def test_a_cancelled_remote_forward_stops_listening_and_a_second_cancel_fails(served: Any) -> None:
    _, transport = served
    before = _accept_threads()
    port = transport.request_port_forward("127.0.0.1", 0, timeout=BOUND)
    (thread,) = _accept_threads() - before
    transport.cancel_port_forward("127.0.0.1", port, timeout=BOUND)
    assert _eventually(lambda: not thread.is_alive()), "the forward's accept thread outlived the cancel"
    assert _refuses(port)
    with pytest.raises(SSHException, match="refused to cancel"):  # nothing is forwarded there any more
        transport.cancel_port_forward("127.0.0.1", port, timeout=BOUND)


def test_a_window_change_before_exec_sets_the_terminal_size(served: Any) -> None:
    _, transport = served
    chan = transport.open_session(timeout=BOUND)
    chan.settimeout(BOUND)
    chan.get_pty(width=80, height=24)
    chan.resize_pty(width=100, height=40)
    chan.exec_command("stty size")
    out = b""
    while data := chan.recv(1024):
        out += data
    assert out.strip() == b"40 100"


def test_a_subsystem_after_exec_on_the_same_channel_is_refused(served: Any) -> None:
    """RFC 4254 6.5: one shell/exec/subsystem per channel; a subsystem was let through."""
    _, transport = served
    chan = transport.open_session(timeout=BOUND)
    chan.settimeout(BOUND)
    chan.exec_command("cat")
    with pytest.raises(SSHException, match="refused"):
        chan.invoke_subsystem("sftp")
    chan.sendall(b"still the first program\n")
    assert chan.recv(100) == b"still the first program\n"


def _plain_packet(payload: bytes) -> bytes:
    """A binary packet before any keys (RFC 4253 6): block size 8, at least 4 bytes padding."""
    padding = 8 - (5 + len(payload)) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + padding, padding) + payload + bytes(padding)


def test_the_server_closes_after_the_clients_disconnect() -> None:
    """RFC 4253 11.1: nothing is accepted after a DISCONNECT. Our server read on until the client
    closed, so a client that said DISCONNECT and then kept the TCP connection held a thread."""
    with (Listener([Ed25519Key.generate()], ServeConfig(username="u", password="p")) as listener,
          socket.create_connection(listener.address, timeout=BOUND) as sock):  # fmt: skip
        sock.sendall(b"SSH-2.0-selfprobe\r\n" + _plain_packet(disconnect_payload(11, "bye")))
        received = b""
        while data := sock.recv(65536):  # our server's version line and KEXINIT, then its close
            received += data
        assert received.startswith(b"SSH-2.0-")
