"""One accept loop for the harness's own loopback listeners (the SSH server, its remote
forwards, the echo service): each connection is handed to ``handle`` in its own daemon
thread, so one slow peer never holds up the next; :func:`close_listener` ends the loop."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[socket.socket, Any], None]


def accept_each(listener: socket.socket, handle: Handler) -> None:
    """Accept until ``listener`` is closed, running ``handle(conn, origin)`` per connection."""
    while True:
        try:
            conn, origin = listener.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(conn, origin), daemon=True).start()


def close_listener(listener: socket.socket) -> None:
    """Close a listener that a thread may be blocked in ``accept()`` on, and end that loop.

    Why not ``close()`` alone: on Linux, closing the descriptor does not wake a thread blocked
    in accept(); the kernel socket stays in LISTEN (the port still takes connections) and the
    thread waits forever. shutdown() wakes it first (the self-probe found both leaks)."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # never listened, or already shut down
    listener.close()
