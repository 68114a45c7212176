"""Paramiko-style Channel on top of the core's channel table.

Why buffers live here: the core emits data events and keeps the flow-control arithmetic; the
facade holds received bytes until the application reads them and only then tells the core to
re-grant window, so a slow reader applies back-pressure instead of growing memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from harness.ssh import events as ev
from harness.ssh.errors import SSHException
from harness.ssh.phases import Phase
from harness.ssh.wire import messages as m

if TYPE_CHECKING:
    from harness.transport import Transport

T = TypeVar("T")


class _Buffer:
    """Received bytes: a bytearray with a read offset (O(1) consumption)."""

    __slots__ = ("_data", "_pos")

    def __init__(self) -> None:
        self._data = bytearray()
        self._pos = 0

    def __len__(self) -> int:
        return len(self._data) - self._pos

    def append(self, data: bytes) -> None:
        if self._pos and self._pos == len(self._data):
            self._data.clear()
            self._pos = 0
        self._data += data

    def take(self, n: int) -> bytes:
        out = bytes(self._data[self._pos : self._pos + n])
        self._pos += len(out)
        if self._pos > 1 << 20 and self._pos * 2 > len(self._data):
            del self._data[: self._pos]
            self._pos = 0
        return out

    def take_into(self, view: memoryview) -> int:
        """Copy up to ``len(view)`` buffered bytes straight into ``view`` (no intermediate bytes)."""
        n = min(len(view), len(self._data) - self._pos)
        if n:
            with memoryview(self._data) as data:
                view[:n] = data[self._pos : self._pos + n]
            self._pos += n
            if self._pos > 1 << 20 and self._pos * 2 > len(self._data):
                del self._data[: self._pos]
                self._pos = 0
        return n


class Channel:
    """A session (or other) channel: exec, shell, subsystem, data both ways, exit status."""

    def __init__(self, transport: Transport, chanid: int) -> None:
        self.transport = transport
        self.chanid = chanid
        self.timeout: float | None = transport.default_timeout
        self._stdout = _Buffer()
        self._stderr = _Buffer()
        self.opened = False
        self.open_error: Exception | None = None
        self.eof_received = False
        self.closed = False
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self._replies: list[bool] = []
        self.requests_received: list[ev.ChannelRequestReceived] = []

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self.opened else "opening"
        return f"<Channel {self.chanid} ({state})>"

    # -- events from the transport (called under the lock) --------------------------------

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.ChannelData):
            (self._stderr if event.data_type == 1 else self._stdout).append(event.data)
        elif isinstance(event, ev.ChannelOpened):
            self.opened = True
        elif isinstance(event, ev.ChannelOpenFailed):
            from harness.ssh.errors import ChannelException

            self.open_error = ChannelException(event.reason, event.description)
            self.closed = True
        elif isinstance(event, ev.ChannelEof):
            self.eof_received = True
        elif isinstance(event, ev.ChannelClosed):
            self.closed = True
            self.eof_received = True
        elif isinstance(event, ev.ChannelRequestReply):
            self._replies.append(event.success)
        elif isinstance(event, ev.ChannelRequestReceived):
            self.requests_received.append(event)
            msg = event.message
            if event.request_type == "exit-status" and isinstance(msg, m.ChannelRequestExitStatus):
                self.exit_status = msg.status
            elif event.request_type == "exit-signal" and isinstance(msg, m.ChannelRequestExitSignal):
                self.exit_signal = msg.signal
                self.exit_status = -1
            if event.want_reply and self.transport._conn.is_client:
                # The server answered its requests through its policy already.
                self.transport._conn.channels.reply_request(self.chanid, False)

    # -- requests --------------------------------------------------------------------------

    def _request(self, msg: m.Message, what: str) -> None:
        t = self.transport
        if self.closed:
            raise SSHException(f"channel {self.chanid} was closed by the peer before the {what} request")
        before = len(self._replies)
        t._call(lambda: t._conn.channels.send_request(self.chanid, msg))
        if not msg.want_reply:
            return
        t._wait(lambda: len(self._replies) > before or self.closed, self.timeout, f"reply to {what}")
        if len(self._replies) <= before:
            raise SSHException(f"channel {self.chanid} was closed by the peer without a reply to {what!r}")
        if not self._replies[before]:
            raise SSHException(f"channel request {what!r} was refused by the server")

    def exec_command(self, command: str | bytes) -> None:
        cmd = command.encode() if isinstance(command, str) else command
        self._request(m.ChannelRequestExec(want_reply=True, command=cmd), "exec")

    def invoke_shell(self) -> None:
        self._request(m.ChannelRequestShell(want_reply=True), "shell")

    def invoke_subsystem(self, subsystem: str) -> None:
        self._request(m.ChannelRequestSubsystem(want_reply=True, subsystem=subsystem), f"subsystem {subsystem}")

    def get_pty(self, term: str = "vt100", width: int = 80, height: int = 24,
                width_pixels: int = 0, height_pixels: int = 0, modes: bytes = b"\x00") -> None:  # fmt: skip
        self._request(m.ChannelRequestPty(want_reply=True, term=term, width_chars=width, height_rows=height,
                      width_pixels=width_pixels, height_pixels=height_pixels, modes=modes), "pty-req")  # fmt: skip

    def resize_pty(self, width: int = 80, height: int = 24, width_pixels: int = 0, height_pixels: int = 0) -> None:
        self._request(m.ChannelRequestWindowChange(want_reply=False, width_chars=width, height_rows=height,
                      width_pixels=width_pixels, height_pixels=height_pixels), "window-change")  # fmt: skip

    def set_environment_variable(self, name: str, value: str) -> None:
        self._request(m.ChannelRequestEnv(want_reply=True, name=name, value=value), f"env {name}")

    def update_environment(self, environment: dict[str, str]) -> None:
        for name, value in environment.items():
            self.set_environment_variable(name, value)

    def send_signal(self, signal: str) -> None:
        """RFC 4254 6.9: signal name without the SIG prefix (e.g. "TERM")."""
        self._request(m.ChannelRequestSignal(want_reply=False, signal=signal), "signal")

    # -- data ------------------------------------------------------------------------------

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def setblocking(self, blocking: bool) -> None:
        self.timeout = None if blocking else 0.0

    def recv_ready(self) -> bool:
        return len(self._stdout) > 0

    def recv_stderr_ready(self) -> bool:
        return len(self._stderr) > 0

    def _take(self, take: Callable[[], T]) -> T:
        """Run a buffer read under the core lock, also after the connection ended.

        Why not ``Transport._call``: that raises once the connection died of an error, and
        what arrived before a peer's violation (data, EOF, an exit status) must still reach
        the application. Only reads with nothing left to give raise the error (in ``_wait``).
        """
        driver = self.transport._driver
        if driver is None:
            raise SSHException("transport not started")
        return driver.call(take)

    def _consumed(self, nbytes: int) -> None:
        """Tell the core the application read ``nbytes`` (window re-grant), while it can send."""
        conn = self.transport._conn
        if nbytes and conn.phase is not Phase.CLOSED:
            conn.channels.consumed(self.chanid, nbytes)

    def _recv(self, buf: _Buffer, nbytes: int, what: str) -> bytes:
        t = self.transport
        try:
            t._wait(lambda: len(buf) > 0 or self.eof_received, self.timeout, what)
        except TimeoutError as exc:
            raise TimeoutError(f"channel {self.chanid}: no data within {self.timeout} s") from exc

        def take() -> bytes:
            data = buf.take(nbytes)
            self._consumed(len(data))
            return data

        return self._take(take)

    def recv(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` of stdout; b"" once the peer sent EOF and all was read."""
        return self._recv(self._stdout, nbytes, "channel data")

    def recv_into(self, buffer: memoryview) -> int:
        """Like ``socket.recv_into``: copy up to ``len(buffer)`` bytes of stdout into ``buffer``
        and return how many (0 once the peer sent EOF and all was read). Saves bulk readers (SFTP)
        a bytes object and a copy per call."""
        t = self.transport
        buf = self._stdout
        try:
            t._wait(lambda: len(buf) > 0 or self.eof_received, self.timeout, "channel data")
        except TimeoutError as exc:
            raise TimeoutError(f"channel {self.chanid}: no data within {self.timeout} s") from exc

        def take() -> int:
            n = buf.take_into(buffer)
            self._consumed(n)
            return n

        return self._take(take)

    def recv_stderr(self, nbytes: int) -> bytes:
        return self._recv(self._stderr, nbytes, "channel stderr")

    def send(self, data: bytes) -> int:
        """Send what the peer's window allows now (at least 1 byte, waiting if needed)."""
        t = self.transport
        t._wait(lambda: self.closed or self._window() > 0, self.timeout, "channel window")
        if self.closed:
            raise OSError(f"channel {self.chanid} is closed")
        return t._call(lambda: t._conn.channels.send_data(self.chanid, data))

    def _window(self) -> int:
        chan = self.transport._conn.channels.channels.get(self.chanid)
        return chan.remote_window if chan is not None else 0

    def sendall(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = self.send(view)  # type: ignore[arg-type]
            view = view[n:]

    def shutdown_write(self) -> None:
        """Send EOF; a no-op when the peer already closed the channel (the command finished)."""
        t = self.transport

        def eof() -> None:
            if not self.closed:
                t._conn.channels.send_eof(self.chanid)

        t._call(eof)

    # -- server side ---------------------------------------------------------------------

    def send_stderr(self, data: bytes) -> int:
        """Extended data type 1 (server mode)."""
        t = self.transport
        t._wait(lambda: self.closed or self._window() > 0, self.timeout, "channel window")
        if self.closed:
            raise OSError(f"channel {self.chanid} is closed")
        return t._call(lambda: t._conn.channels.send_data(self.chanid, data, 1))

    def sendall_stderr(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.send_stderr(bytes(view))
            view = view[n:]

    def send_exit_status(self, status: int) -> None:
        self._send_request(m.ChannelRequestExitStatus(want_reply=False, status=status & 0xFFFFFFFF))

    def send_exit_signal(self, signal: str, core_dumped: bool = False, message: str = "") -> None:
        self._send_request(m.ChannelRequestExitSignal(want_reply=False, signal=signal, core_dumped=core_dumped,
                                                      message=message, language=""))  # fmt: skip

    def _send_request(self, msg: m.Message) -> None:
        t = self.transport

        def send() -> None:
            if not self.closed:
                t._conn.channels.send_request(self.chanid, msg)

        t._call(send)

    def get_id(self) -> int:
        return self.chanid

    def get_transport(self) -> Transport:
        return self.transport

    def exit_status_ready(self) -> bool:
        return self.exit_status is not None or self.closed

    def recv_exit_status(self) -> int:
        """Wait for the exit status (or the channel closing without one: -1)."""
        self.transport._wait(lambda: self.exit_status is not None or self.closed, self.timeout, "exit status")
        return self.exit_status if self.exit_status is not None else -1

    def close(self) -> None:
        t = self.transport
        if not t.is_active():
            self.closed = True
            return
        t._call(lambda: t._conn.channels.close(self.chanid))

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
