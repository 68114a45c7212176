"""Captures of our own connections: one pcapng and one SSH key log per connection.

Turned on per Transport (``Transport.connect(..., pcap=DIR)`` / ``set_capture(DIR)``) or for a
whole process through the environment variable ``HARNESS_PCAP_DIR`` (as SSLKEYLOGFILE works for
TLS libraries): ``harness run/interop/serve --pcap DIR`` set it, so every connection the run
makes, in any worker process, writes ``DIR/<time>-<pid>-<n>-<peer>.pcapng`` and ``.keys``.
Open them with ``wireshark -o ssh.keylog_file:FILE.keys FILE.pcapng``.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from harness.capture.keylog import KeyLog
from harness.capture.pcapng import TcpPcapWriter

ENV_DIR = "HARNESS_PCAP_DIR"
_COUNTER = itertools.count(1)
_COUNTER_LOCK = threading.Lock()


def directory_from_env() -> Path | None:
    """The capture directory set for this process, or None."""
    value = os.environ.get(ENV_DIR)
    return Path(value) if value else None


def _endpoint(sock: Any, peer: bool) -> tuple[str, int]:
    try:
        address = sock.getpeername() if peer else sock.getsockname()
        return str(address[0]), int(address[1])
    except (OSError, AttributeError, IndexError, TypeError):  # a socketpair or a test double
        return ("127.0.0.1", 22 if peer else 40000)


class ConnectionCapture:
    """The pcapng and key log of one connection; ``record`` and ``observe_kex`` are the hooks."""

    def __init__(self, directory: Path, sock: Any, we_are_client: bool, label: str = "") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        local, remote = _endpoint(sock, False), _endpoint(sock, True)
        client, server = (local, remote) if we_are_client else (remote, local)
        with _COUNTER_LOCK:
            number = next(_COUNTER)
        name = label or f"{remote[0]}_{remote[1]}"
        stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{number:04d}-{name}".replace("/", "_")
        self.pcap_path = directory / f"{stem}.pcapng"
        self.keylog_path = directory / f"{stem}.keys"
        self._we_are_client = we_are_client
        self._pcap = TcpPcapWriter(self.pcap_path, client, server)
        self._keylog = KeyLog(self.keylog_path)

    def record(self, direction: str, data: bytes) -> None:
        """Bytes that went ``out`` (we sent) or came ``in`` (the peer sent); ``closed`` ends it."""
        if direction == "closed":
            self.close()
            return
        self._pcap.data((direction == "out") == self._we_are_client, data)

    def observe_kex(self, secrets: Any) -> None:
        self._keylog.observe(secrets)

    def close(self) -> None:
        self._pcap.close()


class RecordingSocket:
    """A socket whose ``send``/``sendall``/``recv`` also feed a ConnectionCapture; everything
    else (fileno for select, setsockopt, close, ...) is the socket's own."""

    def __init__(self, sock: socket.socket, capture: ConnectionCapture) -> None:
        self._sock = sock
        self.capture = capture

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)
        self.capture.record("out", bytes(data))

    def send(self, data: bytes) -> int:
        sent = self._sock.send(data)
        self.capture.record("out", bytes(data[:sent]))
        return sent

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        self.capture.record("in", data)
        return data

    def close(self) -> None:
        self.capture.close()
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def wrap_for_capture(sock: socket.socket, conn: Any, we_are_client: bool, label: str = "") -> Any:
    """``sock`` unchanged when no capture directory is set; else a RecordingSocket whose capture
    also receives ``conn``'s key exchanges (the scenario runner's one-line hook)."""
    directory = directory_from_env()
    if directory is None:
        return sock
    capture = ConnectionCapture(directory, sock, we_are_client, label)
    conn.kex_observer = capture.observe_kex
    return RecordingSocket(sock, capture)
