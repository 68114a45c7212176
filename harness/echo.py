"""A loopback TCP echo service: the target that port-forwarding tests and scenarios send
through (direct-tcpip, ``ssh -L``). Every connection gets its own thread, so several forwarded
channels can be open at once."""

from __future__ import annotations

import socket
import threading

from harness.accept import accept_each, close_listener

# A connection that sends nothing for this long is dropped (no test waits on a silent echo).
IDLE_TIMEOUT = 20.0


class EchoService:
    """Listens on 127.0.0.1 (any free port: ``port``) until :meth:`close`."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=accept_each, args=(self.sock, self._echo), name="echo-accept", daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket, origin: object) -> None:
        conn.settimeout(IDLE_TIMEOUT)
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        close_listener(self.sock)
