"""The TCP fault proxy on its own, against a plain echo server (no SSH): every fault kind does
exactly what it says at the byte offset it is given, and close() leaves no thread behind."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from harness.faultproxy import Fault, FaultProxy

PAYLOAD = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.05)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=serve, args=(conn,), daemon=True)
            t.start()
            threads.append(t)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    yield srv.getsockname()[:2]
    stop.set()
    acceptor.join(5)
    srv.close()
    for t in threads:
        t.join(5)


def roundtrip(address: tuple[str, int], data: bytes, timeout: float = 5.0) -> tuple[bytes, BaseException | None]:
    """Send ``data``, half-close, read until EOF or an error; returns (received, error)."""
    sock = socket.create_connection(address, timeout=timeout)
    got = bytearray()
    error: BaseException | None = None
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(65536):
            got += chunk
    except OSError as exc:
        error = exc
    finally:
        sock.close()
    return bytes(got), error


def no_proxy_threads() -> bool:
    return not any(t.name.startswith("faultproxy") for t in threading.enumerate())


def test_clean_forwarding_counts_bytes(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy:
        got, err = roundtrip(proxy.address, PAYLOAD)
        assert (got, err) == (PAYLOAD, None)
        assert proxy.offsets() == {"c2s": len(PAYLOAD), "s2c": len(PAYLOAD)}
    assert no_proxy_threads()


def test_split_delivers_every_byte(echo: tuple[str, int]) -> None:
    with FaultProxy(echo, [Fault("split", "c2s", at=100, count=500), Fault("split", "s2c", at=0, count=300)]) as p:
        got, err = roundtrip(p.address, PAYLOAD)
    assert (got, err) == (PAYLOAD, None)


def test_delay_adds_latency(echo: tuple[str, int]) -> None:
    with FaultProxy(echo, [Fault("delay", "s2c", at=0, seconds=0.2)]) as p:
        t0 = time.monotonic()
        got, err = roundtrip(p.address, b"hello")
        assert time.monotonic() - t0 >= 0.2, (got, err)
    assert (got, err) == (b"hello", None)


def test_finite_stall_then_everything_arrives(echo: tuple[str, int]) -> None:
    with FaultProxy(echo, [Fault("stall", "c2s", at=1000, seconds=0.3)]) as p:
        t0 = time.monotonic()
        got, err = roundtrip(p.address, PAYLOAD)
        assert time.monotonic() - t0 >= 0.3
    assert (got, err) == (PAYLOAD, None)


def test_endless_stall_is_ended_by_close(echo: tuple[str, int]) -> None:
    p = FaultProxy(echo, [Fault("stall", "s2c", at=10, seconds=None)]).start()
    sock = socket.create_connection(p.address, timeout=5)
    sock.sendall(PAYLOAD)
    sock.settimeout(0.3)
    got = sock.recv(65536)
    assert len(got) == 10
    with pytest.raises(TimeoutError):
        sock.recv(65536)
    p.close()
    sock.settimeout(5)
    assert sock.recv(65536) == b""  # the proxy closed it
    sock.close()
    assert no_proxy_threads()


@pytest.mark.parametrize("at", [0, 1, 4096, len(PAYLOAD) - 1])
def test_truncate_ends_the_stream_at_the_offset(echo: tuple[str, int], at: int) -> None:
    with FaultProxy(echo, [Fault("truncate", "s2c", at=at)]) as p:
        got, err = roundtrip(p.address, PAYLOAD)
    assert got == PAYLOAD[:at]
    assert err is None or isinstance(err, ConnectionResetError)


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_reset_at_the_offset(echo: tuple[str, int], direction: str) -> None:
    with FaultProxy(echo, [Fault("reset", direction, at=2000)]) as p:
        got, err = roundtrip(p.address, PAYLOAD)
    assert len(got) <= 2000 and PAYLOAD.startswith(got)
    # ENOTCONN: the reset can land between our send and the socket noticing it.
    assert err is None or isinstance(err, (ConnectionResetError, BrokenPipeError)) or (
        isinstance(err, OSError) and err.errno == errno.ENOTCONN)


def test_fault_only_on_the_chosen_connection(echo: tuple[str, int]) -> None:
    with FaultProxy(echo, [Fault("truncate", "s2c", at=5, connection=0)]) as p:
        first, _ = roundtrip(p.address, PAYLOAD)
        second, err = roundtrip(p.address, PAYLOAD)
    assert first == PAYLOAD[:5]
    assert (second, err) == (PAYLOAD, None)


def test_invalid_faults_are_refused() -> None:
    with pytest.raises(ValueError):
        Fault("explode", "c2s")
    with pytest.raises(ValueError):
        Fault("delay", "sideways")
    with pytest.raises(ValueError):
        Fault("reset", "c2s", at=-1)
