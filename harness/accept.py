"""One accept loop for the harness's own loopback listeners (the SSH server, its remote
forwards, the echo service): each connection is handed to ``handle`` in its own daemon
thread, so one slow peer never holds up the next; :func:`close_listener` ends the loop.

A failed ``accept`` ends the loop only when the listener itself is gone. Errors that belong to
one connection (aborted before it was accepted) or to a passing shortage (out of file
descriptors or buffers) are retried: a server that stops accepting after one such error keeps
its port bound but serves nobody, which is how a busy test run loses its server."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Handler = Callable[[socket.socket, Any], None]
log = logging.getLogger("harness.accept")

# One connection's trouble: try the next one at once.
CONNECTION_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ETIMEDOUT})
# A shortage that passes when other connections end: wait a moment, then try again.
SHORTAGE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
SHORTAGE_PAUSE = 0.05  # first pause after a shortage; doubles up to SHORTAGE_PAUSE_MAX
SHORTAGE_PAUSE_MAX = 1.0


def accept_each(listener: socket.socket, handle: Handler) -> None:
    """Accept until ``listener`` is closed, running ``handle(conn, origin)`` per connection."""
    pause = SHORTAGE_PAUSE
    while True:
        try:
            conn, origin = listener.accept()
        except OSError as exc:
            if exc.errno in CONNECTION_ERRORS:
                continue
            if exc.errno in SHORTAGE_ERRORS and listener.fileno() != -1:
                log.warning("accept on %s: %s; retrying in %.2f s", _name(listener), exc.strerror, pause)
                time.sleep(pause)
                pause = min(pause * 2, SHORTAGE_PAUSE_MAX)
                continue
            return  # the listener was shut down or closed
        pause = SHORTAGE_PAUSE
        threading.Thread(target=handle, args=(conn, origin), daemon=True).start()


def _name(listener: socket.socket) -> str:
    try:
        host, port = listener.getsockname()[:2]
        return f"{host}:{port}"
    except OSError:
        return "a closed listener"


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
