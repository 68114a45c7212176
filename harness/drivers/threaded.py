"""Threaded driver: one reader thread, one writer thread, one lock around every call into the core.

Why this shape (websockets' sync driver is the model): the core is not thread-safe and need
not be; every call into it happens under ``lock``. Bytes the core produces are appended, still
under the lock and so in order, to an output buffer that a writer thread drains with one
``sendall`` per batch. No thread that touches the core ever blocks in ``sendall``: in particular
the reader keeps reading while a peer that only reads once its own writes drain (tinysshd, a
blocking-write peer) is pushing data at us, which would otherwise deadlock both sides.
Memory stays bounded because channel data is bounded by the peer's flow-control windows.

Write-through: when the writer is idle, the thread that produced the bytes first offers them to
the socket itself with a non-blocking send (never blocks, so the rule above holds) and leaves
only what the kernel did not take to the writer. On a bulk upload that saves a thread hand-off
(a context switch, and a wait for a CPU on a loaded machine) per batch of packets.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from harness.ssh import events as ev
from harness.ssh.connection import Connection
from harness.ssh.errors import ConnectionLost, LocalPolicyError, RemoteProtocolError, SSHException, SSHTimeout
from harness.ssh.phases import Phase

T = TypeVar("T")
# One recv takes many packets at once; 256 KiB covers a full window burst on loopback.
RECV_SIZE = 256 * 1024
# The reader wakes this often to run timers (keepalive) even when the peer is silent.
TICK_SECONDS = 1.0
# A peer that accepts none of our bytes for this long is declared dead (a send never hangs).
SEND_TIMEOUT = 60.0
# How long closing waits for queued bytes (the DISCONNECT) to leave.
DRAIN_TIMEOUT = 5.0


class ThreadedDriver:
    def __init__(
        self,
        sock: socket.socket,
        conn: Connection,
        on_event: Callable[[ev.Event], None],
        name: str = "ssh",
        logger: logging.Logger | None = None,
    ) -> None:
        self.sock = sock
        self.conn = conn
        self.on_event = on_event
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._out = bytearray()
        self._out_cond = threading.Condition(threading.Lock())
        self._writer_done = False
        self._writer_busy = False  # the writer took bytes out of _out and is sending them
        # The writer sends on its own socket object so its timeout is independent of the reader's.
        self._wsock = sock.dup()
        self._wsock.settimeout(SEND_TIMEOUT)
        # Write-through uses a third socket object with timeout 0: a socket with a timeout polls
        # for writability first and could wait, under the core lock, for SEND_TIMEOUT seconds.
        self._nbsock = sock.dup()
        self._nbsock.settimeout(0.0)
        self.error: BaseException | None = None
        self.closed = False
        self.log = logger or logging.getLogger("harness.transport")
        self.tick: Callable[[], None] | None = None  # called under the lock every TICK_SECONDS
        # Capture seam (harness/capture): called with ("out"|"in", bytes) for the bytes that
        # really left or arrived, from whichever thread moved them, and ("closed", b"") once
        # the connection is shut down; None costs nothing.
        self.recorder: Callable[[str, bytes], None] | None = None
        self._thread = threading.Thread(target=self._run, name=f"{name}-reader", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name=f"{name}-writer", daemon=True)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket (socketpair in tests)

    def start(self) -> None:
        self._writer.start()
        self.call(self.conn.start)
        self._thread.start()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the core under the lock, then deliver events and queue output."""
        with self.cond:
            try:
                return fn()
            finally:
                self._after_locked()

    def _after_locked(self) -> None:
        conn = self.conn
        event = conn.next_event()
        while event is not None:
            self.on_event(event)
            event = conn.next_event()
        self.cond.notify_all()
        data = conn.data_to_send()
        if data:
            with self._out_cond:
                out = self._out
                out += data
                if not self._writer_busy and not self._writer_done:
                    # In order: nothing older is in flight (the writer is idle, _out held it all).
                    try:
                        sent = self._nbsock.send(out)
                    except OSError:  # full (BlockingIOError), or an error the writer will report
                        sent = 0
                    if sent and self.recorder is not None:
                        self.recorder("out", bytes(out[:sent]))
                    del out[:sent]
                if out:
                    self._out_cond.notify()

    def _write_loop(self) -> None:
        """Drain the output buffer, one sendall per batch, until shutdown has drained it."""
        while True:
            with self._out_cond:
                self._out_cond.wait_for(lambda: bool(self._out) or self._writer_done)
                if not self._out:
                    return
                data = bytes(self._out)
                self._out.clear()
                self._writer_busy = True
            try:
                self._wsock.sendall(data)
                if self.recorder is not None:
                    self.recorder("out", data)
                with self._out_cond:
                    self._writer_busy = False
            except OSError as exc:
                self._set_error(ConnectionLost(f"send failed: {exc}"))
                with self._out_cond:
                    self._out.clear()
                    self._writer_done = True
                return

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None, what: str) -> None:
        """Block until ``predicate()`` (checked under the lock) or raise on timeout / death."""
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate() or self.closed, timeout)
            if predicate():
                return
            if self.error is not None:
                raise self.error if isinstance(self.error, SSHException) else SSHException(str(self.error))
            if not ok:
                raise SSHTimeout(f"timed out after {timeout} s waiting for {what}")
            raise ConnectionLost(f"connection closed while waiting for {what}")

    def _set_error(self, exc: BaseException) -> None:
        with self.cond:
            if self.error is None:
                self.error = exc
            self.closed = True
            self.cond.notify_all()

    def _run(self) -> None:
        sock = self.sock
        sock.settimeout(TICK_SECONDS)
        try:
            while not self.closed:
                try:
                    data = sock.recv(RECV_SIZE)
                except TimeoutError:
                    if self.tick is not None:
                        self.call(self.tick)
                    continue
                except OSError as exc:
                    if not self.closed:
                        self._set_error(ConnectionLost(f"receive failed: {exc}"))
                    break
                if self.recorder is not None:
                    self.recorder("in", data)
                if not data:
                    self.call(self.conn.receive_eof)
                    break
                self.call(lambda d=data: self.conn.receive_data(d))
                if self.conn.phase is Phase.CLOSED and self.conn.config.on_error != "mute":
                    break  # the peer's DISCONNECT: nothing more is read (RFC 4253 11.1); "mute" lingers
        except RemoteProtocolError as exc:
            self.log.warning("protocol error from peer: %s", exc)
            self._set_error(exc)
        except LocalPolicyError as exc:  # our configuration refused the peer (unknown host key)
            self.log.warning("refused the peer: %s", exc)
            self._set_error(exc)
        except Exception as exc:  # a bug in the core: keep it visible to the caller
            self.log.exception("internal error in the SSH core")
            self._set_error(exc)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        with self._out_cond:
            self._writer_done = True
            self._out_cond.notify()
        if threading.current_thread() is not self._writer and self._writer.is_alive():
            self._writer.join(DRAIN_TIMEOUT)  # let the DISCONNECT leave
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._wsock.close()
        self._nbsock.close()
        if self.recorder is not None:
            self.recorder("closed", b"")

    def join(self, timeout: float) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)


def system_randbytes(n: int) -> bytes:
    """The driver's randomness for the core (the core itself never calls os.urandom)."""
    return os.urandom(n)
