"""One accept loop for the harness's own loopback listeners (the SSH server, its remote
forwards, the echo service): each connection is handed to ``handle`` in its own daemon
thread, so one slow peer never holds up the next; closing the listener ends the loop."""

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
