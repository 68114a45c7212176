"""A TCP fault proxy: network faults at chosen byte offsets, on loopback, without tc/netem.

Why a proxy: kernel traffic shaping is not available on these machines, and faults must land at
a precise point of an SSH conversation (the version line, the key exchange, authentication,
channel data), which byte offsets per direction express exactly. The proxy sits between a client
and a server, forwards both directions with one thread each, and applies :class:`Fault` rules:

``delay``     every forward of bytes at or past ``at`` waits ``seconds`` first (added latency)
``split``     bytes from ``at`` on leave one byte per write (``count`` bytes, None = all)
``stall``     at ``at`` forwarding stops for ``seconds`` (None: until the proxy is closed);
              nothing is read meanwhile, so the sender feels back-pressure
``truncate``  the stream ends cleanly (FIN both ways) after exactly ``at`` bytes
``reset``     the connection is reset (RST both ways) after exactly ``at`` bytes

Directions are ``"c2s"`` (client to server) and ``"s2c"``. Each accepted connection gets the
same rules (``connection`` limits a rule to the n-th connection, 0-based). The scenario engine's
stream tampers can reuse :class:`FaultProxy` with its own rules. The proxy counts bytes per
direction (:meth:`FaultProxy.offsets`), which is how callers find the offset where a phase starts:
run once cleanly, note the counts between steps, then aim faults inside each phase.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("delay", "split", "stall", "truncate", "reset")
DIRECTIONS = ("c2s", "s2c")
CHUNK = 65536
# How long close() waits for the pump threads (they poll the stop flag this often).
POLL = 0.05
JOIN_TIMEOUT = 5.0
# After a truncate, how long the proxy keeps reading (and dropping) what the peers still send.
DRAIN_SECONDS = 10.0


@dataclass(frozen=True)
class Fault:
    kind: str
    direction: str
    at: int = 0
    seconds: float | None = 0.0
    count: int | None = None
    connection: int | None = None  # only the n-th accepted connection (None: all)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {KINDS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {self.direction!r}; choose from {DIRECTIONS}")
        if self.at < 0:
            raise ValueError("a fault's offset must be >= 0")


class _Pipe:
    """One connection: client socket, server socket, a pump thread per direction."""

    def __init__(self, proxy: FaultProxy, index: int, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.index = index
        self.sockets = {"c2s": (client, server), "s2c": (server, client)}
        self.client, self.server = client, server
        self.sent = {"c2s": 0, "s2c": 0}
        self.done = threading.Event()
        self.truncated = False  # after a truncate: both peers got FIN, whatever arrives is dropped
        self._closed = False
        self._running = len(DIRECTIONS)  # pumps not yet finished (the last one closes the sockets)
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._pump, args=(d,), name=f"faultproxy-{index}-{d}", daemon=True)
                        for d in DIRECTIONS]  # fmt: skip

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _rules(self, direction: str) -> list[Fault]:
        return [f for f in self.proxy.faults
                if f.direction == direction and (f.connection is None or f.connection == self.index)]  # fmt: skip

    def _pump(self, direction: str) -> None:
        src, dst = self.sockets[direction]
        rules = self._rules(direction)
        ends = sorted((f for f in rules if f.kind in ("truncate", "reset")), key=lambda f: f.at)
        end = ends[0] if ends else None
        stalls = sorted((f for f in rules if f.kind == "stall"), key=lambda f: f.at)
        try:
            if end is not None and end.at == 0:
                self._end(end)
                return
            while not self.proxy.stopping.is_set():
                limit = CHUNK
                if end is not None:
                    limit = min(limit, end.at - self.sent[direction])
                if stalls:
                    limit = min(limit, max(stalls[0].at - self.sent[direction], 0)) or limit
                    if stalls[0].at <= self.sent[direction]:
                        self._stall(stalls.pop(0))
                        continue
                data = self._recv(src, limit)
                if data is None:
                    continue
                if not data:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                if self.truncated:
                    self._drain(src)
                    return
                self._forward(direction, dst, data, rules)
                if end is not None and self.sent[direction] >= end.at:
                    self._end(end)
                    return
        except OSError:
            if self.truncated:  # our own FIN made the forward fail: keep the ending clean
                self._drain(src)
            else:
                self.close(reset=True)
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last:
                self.close()

    def _recv(self, sock: socket.socket, limit: int) -> bytes | None:
        try:
            return sock.recv(limit)
        except TimeoutError:
            return None  # poll the stop flag

    def _forward(self, direction: str, dst: socket.socket, data: bytes, rules: Sequence[Fault]) -> None:
        base = self.sent[direction]
        pos = 0
        for f in rules:
            if f.kind == "delay" and base + len(data) > f.at:
                time.sleep(f.seconds or 0.0)
        splits = [f for f in rules if f.kind == "split"]
        while pos < len(data):
            offset = base + pos
            split = next((f for f in splits if f.at <= offset and (f.count is None or offset < f.at + f.count)), None)
            if split is not None:
                dst.sendall(data[pos : pos + 1])
                pos += 1
            else:
                nxt = min((f.at for f in splits if f.at > offset), default=len(data) + base)
                stop = min(len(data), nxt - base)
                dst.sendall(data[pos:stop])
                pos = stop
            self.sent[direction] = base + pos
            self.proxy._count(direction, base + pos)

    def _stall(self, fault: Fault) -> None:
        deadline = None if fault.seconds is None else time.monotonic() + fault.seconds
        while not self.proxy.stopping.is_set() and not self._closed:
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(POLL)

    def _end(self, fault: Fault) -> None:
        if fault.kind == "reset":
            self.close(reset=True)
            return
        # A clean end: FIN to both peers, then read and drop what they still send (closing with
        # unread data would turn the FIN into a RST and could discard bytes already delivered).
        self.truncated = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        self._drain(self.sockets[fault.direction][0])

    def _drain(self, sock: socket.socket) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while not self.proxy.stopping.is_set() and time.monotonic() < deadline:
            try:
                if not sock.recv(CHUNK):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self, reset: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        self.done.set()


class FaultProxy:
    """Listens on 127.0.0.1 (a free port by default) and forwards to ``upstream`` with faults."""

    def __init__(self, upstream: tuple[str, int], faults: Sequence[Fault] = (), host: str = "127.0.0.1",
                 port: int = 0) -> None:  # fmt: skip
        self.upstream = upstream
        self.faults = tuple(faults)
        self.stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(16)
        self._listener.settimeout(POLL)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self.pipes: list[_Pipe] = []
        self._offsets = {"c2s": 0, "s2c": 0}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def offsets(self) -> dict[str, int]:
        """Bytes forwarded so far per direction on the latest connection."""
        with self._lock:
            return dict(self._offsets)

    def _count(self, direction: str, total: int) -> None:
        with self._lock:
            self._offsets[direction] = total

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5.0)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(POLL)
            with self._lock:
                self._offsets = {"c2s": 0, "s2c": 0}
                pipe = _Pipe(self, len(self.pipes), client, server)
                self.pipes.append(pipe)
            pipe.start()

    def close(self) -> None:
        """Stop accepting, end every connection and join every thread the proxy started."""
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT)
        for pipe in self.pipes:
            pipe.close()
            for t in pipe.threads:
                if t.is_alive() and t is not threading.current_thread():
                    t.join(JOIN_TIMEOUT)
