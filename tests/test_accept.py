"""The shared accept loop survives what one connection or a passing shortage does to accept()
and ends only when its listener goes (harness/accept.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading

from harness.accept import accept_each

# A listener in a child process with few file descriptors. Linux reserves the descriptor number
# of the next connection when accept() starts waiting, so: "exhaust" takes every other
# descriptor; the first client gets the reserved one and keeps it; the next accept() then fails
# with EMFILE at once. "free" gives everything back.
_CHILD = textwrap.dedent("""
    import os, resource, socket, sys, threading
    from harness.accept import accept_each
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    served = []
    def greet(conn, origin):
        conn.sendall(b"ok")
        served.append(conn)  # kept open: the descriptor stays taken
    threading.Thread(target=accept_each, args=(listener, greet), daemon=True).start()
    print(listener.getsockname()[1], flush=True)
    held = []
    for line in sys.stdin:
        if line.strip() == "exhaust":
            try:
                while True:
                    held.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                pass
        elif line.strip() == "free":
            for fd in held:
                os.close(fd)
            held.clear()
        print("done", flush=True)
""")


def _say(child: subprocess.Popen[str], command: str) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(command + "\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "done"


def _greeted(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert client.recv(2) == b"ok"
    return client


def test_out_of_descriptors_is_waited_out_not_the_end_of_the_server() -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None
    try:
        port = int(child.stdout.readline())
        _say(child, "exhaust")
        first = _greeted(port)  # the reserved descriptor; the accept() after it fails with EMFILE
        _say(child, "free")
        with first, _greeted(port):  # a loop that ended at EMFILE never answers this one
            pass
    finally:
        child.kill()
        child.wait(10)
        if child.stderr is not None:
            child.stderr.close()
        if child.stdout is not None:
            child.stdout.close()


def test_closing_the_listener_ends_the_loop() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    loop = threading.Thread(target=accept_each, args=(listener, lambda conn, origin: conn.close()), daemon=True)
    loop.start()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    loop.join(5)
    assert not loop.is_alive()
