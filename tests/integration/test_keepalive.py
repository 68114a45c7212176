"""Keepalive (OpenSSH's ServerAliveInterval / ServerAliveCountMax semantics) against a real sshd.

The client talks to sshd through a tiny TCP proxy written here. It forwards bytes both ways
until told to ``hold`` (buffer the server's bytes, release them later) or ``swallow`` (keep
both connections open but drop everything): a peer that stopped answering without the TCP
connection ending, which only keepalive probes can detect.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from harness import ConnectionLost, Transport
from harness.interop import authenticate
from harness.peers.base import PeerInfo
from harness.ssh.keys import HostKeys
from tests.integration.polling import poll

pytestmark = pytest.mark.peer

TIMEOUT = 20.0


class BlackHoleProxy:
    """127.0.0.1:port -> upstream, one connection at a time is all the tests need."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self.swallowing = threading.Event()
        self._held: bytearray | None = None  # server->client bytes kept back while holding
        self._lock = threading.Lock()
        self.sent_up = 0  # client->server bytes forwarded or swallowed
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream, timeout=TIMEOUT)
            for s in (down, up):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socks += [down, up]
            threading.Thread(target=self._pump, args=(down, up, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    if upward:
                        self.sent_up += len(data)
                    if self.swallowing.is_set():
                        continue
                    if not upward and self._held is not None:
                        self._held += data
                        continue
                dst.sendall(data)
        except OSError:
            pass

    def hold(self) -> None:
        with self._lock:
            self._held = bytearray()

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, None
            if held:
                self._socks[0].sendall(held)

    def swallow(self) -> None:
        self.swallowing.set()

    def close(self) -> None:
        self.listener.close()
        for s in self._socks:
            s.close()


@pytest.fixture
def proxied(openssh_server: PeerInfo) -> Iterator[tuple[Transport, BlackHoleProxy]]:
    proxy = BlackHoleProxy((openssh_server.host, openssh_server.port))
    t = Transport(proxy.address)
    try:
        known = HostKeys()
        known.load(str(openssh_server.known_hosts))
        t.connect(host_keys=known, hostname=openssh_server.host, port=openssh_server.port, timeout=TIMEOUT)
        authenticate(t, openssh_server)
        yield t, proxy
    finally:
        t.close()
        proxy.close()


def test_answered_probes_keep_the_connection(proxied: tuple[Transport, BlackHoleProxy]) -> None:
    """sshd answers keepalive@openssh.com with REQUEST_FAILURE: that counts as alive."""
    t, _proxy = proxied
    t.set_keepalive(1, count_max=1)
    # With count_max 1, a single unanswered probe would be fatal at the next one: three
    # answered probes in a row show each reply resets the count.
    poll(lambda: t.keepalive_stats["answered"] >= 3, "three answered keepalive probes")
    assert t.is_active() and t.get_exception() is None
    chan = t.open_session()
    chan.exec_command("echo still-here")
    chan.settimeout(TIMEOUT)
    assert chan.recv(100) == b"still-here\n"


def test_silent_peer_is_declared_dead_within_bound(proxied: tuple[Transport, BlackHoleProxy]) -> None:
    t, proxy = proxied
    interval, count_max = 1.0, 2
    chan = t.open_session()
    chan.exec_command("cat")  # a channel that stays open and silent: recv() blocks on it
    chan.settimeout(60)
    t.set_keepalive(interval, count_max=count_max)
    poll(lambda: t.keepalive_stats["answered"] >= 1, "a first answered probe")
    proxy.swallow()
    start = time.monotonic()
    with pytest.raises(ConnectionLost) as info:
        chan.recv(100)  # blocked until the keepalive logic gives up
    elapsed = time.monotonic() - start
    # Dead at the (count_max + 1)-th due probe; the reader's 1 s tick adds up to a second, and a
    # probe already in flight when swallowing began may count as the first unanswered one.
    bound = interval * (count_max + 1) + 1.5
    assert interval * (count_max - 1) <= elapsed <= bound, f"declared dead after {elapsed:.1f} s (bound {bound} s)"
    assert re.fullmatch(rf"no answer to {count_max} keepalive probes in \d+\.\d s", str(info.value)), info.value
    assert t.get_exception() is info.value
    assert not t.is_active()
    with pytest.raises(ConnectionLost, match="keepalive"):
        t.open_session(timeout=5)  # the error is sticky: later calls see it too


def test_replies_match_in_order_with_probes_in_flight(proxied: tuple[Transport, BlackHoleProxy]) -> None:
    """Keepalive replies (FAILURE) and a tcpip-forward reply (SUCCESS + port) queue up behind
    the proxy; released together they must each reach their own request."""
    t, proxy = proxied
    t.set_keepalive(1, count_max=10)
    proxy.hold()
    before = t.keepalive_stats["sent"]
    poll(lambda: t.keepalive_stats["sent"] >= before + 2, "two keepalive probes while replies are held")
    result: list[object] = []
    sent_up = proxy.sent_up

    def forward() -> None:
        try:
            result.append(t.request_port_forward("127.0.0.1", 0, timeout=TIMEOUT))
        except Exception as exc:
            result.append(exc)

    worker = threading.Thread(target=forward, daemon=True)
    worker.start()
    poll(lambda: proxy.sent_up > sent_up, "the tcpip-forward request to leave")
    assert t.keepalive_stats["unanswered"] >= 2
    proxy.release()
    worker.join(TIMEOUT)
    assert len(result) == 1 and isinstance(result[0], int) and result[0] > 0, result
    poll(lambda: t.keepalive_stats["unanswered"] <= 1, "the held keepalive replies to be counted")
    with socket.create_connection(("127.0.0.1", result[0]), timeout=TIMEOUT):
        chan = t.accept(TIMEOUT)
        assert chan is not None
    assert t.is_active()
