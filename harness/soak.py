"""Soak and fault runs (issue 9): long transfers across many rekeys, many concurrent clients, and
network faults injected by :mod:`harness.faultproxy` in every connection phase.

The test suite runs the short forms (tests/soak/); `harness soak` runs the long forms (10 GiB,
1,000 rekeys, 100 clients). Every function returns a result dict and raises SoakCheckFailed (an
AssertionError that `python -O` keeps) with the reason when a property does not hold, so the
tests and the command line share one oracle.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.faultproxy import Fault, FaultProxy
from harness.ssh.config import ConnectionConfig
from harness.ssh.errors import SSHException

MiB = 1 << 20
GiB = 1 << 30
# What counts as a typed error on our side when a fault kills the connection.
TYPED_ERRORS = (SSHException, TimeoutError)


class SoakCheckFailed(AssertionError):
    """A soak or fault property did not hold (an AssertionError, so pytest reports it as one)."""


def check(condition: object, message: str) -> None:
    """Raise :class:`SoakCheckFailed` with ``message`` unless ``condition`` holds.

    Why not ``assert``: ``python -O`` strips asserts, and `harness soak` must not pass a
    corrupted transfer because the interpreter was optimising.
    """
    if not condition:
        raise SoakCheckFailed(message)


# == data with a checksum ========================================================================


def chunks(total: int, seed: bytes = b"soak") -> Iterator[bytes]:
    """``total`` bytes in 1 MiB chunks, each prefixed by its index (a lost, duplicated or
    reordered chunk changes the checksum); the body is cheap pseudo-random bytes."""
    body = hashlib.shake_256(seed).digest(MiB)
    index = 0
    sent = 0
    while sent < total:
        n = min(MiB, total - sent)
        chunk = (index.to_bytes(8, "big") + body[8:])[:n]
        yield chunk
        sent += n
        index += 1


def expected_sha256(total: int) -> str:
    h = hashlib.sha256()
    for chunk in chunks(total):
        h.update(chunk)
    return h.hexdigest()


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# == pairing 1: our client to sshd ===============================================================


def client_to_sshd(info: Any, total: int, rekeys: int, timeout: float = 300.0) -> dict[str, Any]:
    """Send ``total`` bytes to `sha256sum` on the peer over one channel, rekeying by data volume
    (``rekey_bytes``) about ``rekeys`` times; checks the digest and the number of key exchanges."""
    from harness.interop import authenticate
    from harness.ssh.keys import HostKeys
    from harness.transport import Transport

    # 10% headroom: data sent while a key exchange runs does not count towards the next one.
    config = ConnectionConfig(rekey_bytes=max(total // (rekeys * 11 // 10), 64 * 1024))
    t = Transport(info.address, config=config)
    t.default_timeout = timeout
    opts = t.get_security_options()
    opts.kex = ("curve25519-sha256",)
    opts.ciphers = ("aes128-gcm@openssh.com",)
    hk = HostKeys()
    hk.load(str(info.known_hosts))
    start = time.monotonic()
    rss0 = rss_kib()
    peak = rss0
    try:
        t.connect(host_keys=hk, hostname=info.host, port=info.port)
        authenticate(t, info, "publickey")
        chan = t.open_session()
        chan.settimeout(timeout)
        chan.exec_command("sha256sum")
        local = hashlib.sha256()
        for i, chunk in enumerate(chunks(total)):
            chan.sendall(chunk)
            local.update(chunk)
            if i % 64 == 0:
                peak = max(peak, rss_kib())
        chan.shutdown_write()
        out = bytearray()
        while data := chan.recv(4096):
            out += data
        status = chan.recv_exit_status()
        kex = t.key_exchanges - 1
    finally:
        t.close()
    remote = out.split()[0].decode() if out.split() else ""
    check(status == 0, f"sha256sum exited with {status}")
    check(remote == local.hexdigest(), f"remote digest {remote} != local {local.hexdigest()}")
    check(kex >= rekeys, f"only {kex} key re-exchanges, expected >= {rekeys}")
    return {"pairing": "harness client -> sshd", "bytes": total, "rekeys": kex, "trigger": "rekey_bytes",
            "seconds": round(time.monotonic() - start, 1), "rss_growth_mib": round((peak - rss0) / 1024, 1)}


# == pairing 2: OpenSSH ssh to our server ========================================================


def serve_with(sock: socket.socket, host_keys: list[Any], config: Any, conn_config: ConnectionConfig) -> Any:
    """harness.serve.serve_connection with a ConnectionConfig of our choosing (rekey limits)."""
    from harness.serve import ShellServer
    from harness.transport import Transport

    t = Transport(sock, config=conn_config)
    for key in host_keys:
        t.add_server_key(key)
    server = ShellServer(config)
    server.transport = t
    t.start_server(server=server)
    return t


def configured_listener(host_keys: list[Any], config: Any, make_config: Callable[[], ConnectionConfig]) -> Any:
    from harness.serve import Listener

    class _Configured(Listener):
        def _one(self, conn: socket.socket, origin: Any) -> None:
            try:
                self.transports.append(serve_with(conn, self.host_keys, self.config, make_config()))
            except Exception:
                conn.close()

    return _Configured(host_keys, config)


def close_listener(listener: Any) -> None:
    """Listener.close() plus a shutdown of the listening socket first: on Linux close() alone does
    not wake a thread blocked in accept(), so the accept thread would outlive the server."""
    import contextlib

    with contextlib.suppress(OSError):
        listener.sock.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread = getattr(listener, "_thread", None)
    if thread is not None and thread.is_alive():
        thread.join(5)


@dataclass
class OurServer:
    listener: Any
    host: str
    port: int
    known_hosts: Path
    user: str
    key: Path

    def ssh_argv(self, *options: str, command: str) -> list[str]:
        return ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", str(self.key), "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", *options, f"{self.user}@{self.host}", command]


def start_our_server(workdir: Path, make_config: Callable[[], ConnectionConfig] | None = None) -> OurServer:
    """Our server on a free loopback port, the Ed25519 client key authorized, HOME an empty dir."""
    from harness.peers.base import client_keys
    from harness.serve import Listener, ServeConfig
    from harness.ssh.keys import Ed25519Key, load_public_key_file

    key = Path(client_keys()["ed25519"])
    host_key = Ed25519Key.generate()
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    config = ServeConfig(username="soak", authorized_keys=[load_public_key_file(f"{key}.pub")], cwd=str(home))
    listener = configured_listener([host_key], config, make_config) if make_config else Listener([host_key], config)
    listener.start()
    host, port = listener.address
    known = workdir / "known_hosts"
    known.write_text(f"[{host}]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
    return OurServer(listener, host, port, known, "soak", key)


def ssh_to_our_server(workdir: Path, total: int, rekeys: int, timeout: float = 600.0) -> dict[str, Any]:
    """OpenSSH `ssh` sends ``total`` bytes to `sha256sum` on our server, which rekeys by packet
    count (``rekey_packets``) about ``rekeys`` times; checks the digest and the rekey count."""
    packets = max(total // 32768 // (rekeys * 11 // 10), 16)
    server = start_our_server(workdir, lambda: ConnectionConfig(rekey_packets=packets))
    start = time.monotonic()
    try:
        env = {"HOME": str(workdir), "PATH": "/usr/bin:/bin", "LANG": "C"}
        proc = subprocess.Popen(server.ssh_argv("-c", "aes128-gcm@openssh.com", command="sha256sum"),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)  # fmt: skip
        if proc.stdin is None or proc.stdout is None or proc.stderr is None:
            raise SoakCheckFailed("ssh started without pipes")
        local = hashlib.sha256()
        err_box: list[bytes] = []
        reader = threading.Thread(target=lambda: err_box.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        try:
            for chunk in chunks(total):
                proc.stdin.write(chunk)
                local.update(chunk)
            proc.stdin.close()
            out = proc.stdout.read()
            proc.wait(timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            reader.join(10)
            proc.stderr.close()
        check(proc.returncode == 0, f"ssh exited with {proc.returncode}: {b''.join(err_box)[-500:]!r}")
        remote = out.split()[0].decode() if out.split() else ""
        check(remote == local.hexdigest(), f"remote digest {remote} != local {local.hexdigest()}")
        kex = max((t.key_exchanges for t in server.listener.transports), default=0) - 1
        check(kex >= rekeys, f"our server ran only {kex} key re-exchanges, expected >= {rekeys}")
    finally:
        close_listener(server.listener)
    return {"pairing": "OpenSSH ssh -> harness server", "bytes": total, "rekeys": kex, "trigger": "rekey_packets",
            "seconds": round(time.monotonic() - start, 1)}  # fmt: skip


# == many concurrent clients =====================================================================


def _paramiko_client(server: OurServer, payload: bytes) -> None:
    import paramiko

    sock = socket.create_connection((server.host, server.port), timeout=60)
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=60)
        t.auth_publickey(server.user, paramiko.Ed25519Key.from_private_key_file(str(server.key)))
        for command, stdin, expect in (("echo hello", b"", b"hello\n"), ("sha256sum", payload, None),
                                       (f"head -c {len(payload)} /dev/zero", b"", bytes(len(payload)))):  # fmt: skip
            chan = t.open_session(timeout=60)
            chan.settimeout(60)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            out = bytearray()
            while data := chan.recv(65536):
                out += data
            status = chan.recv_exit_status()
            chan.close()
            want = expect if expect is not None else f"{hashlib.sha256(payload).hexdigest()}  -\n".encode()
            check(status == 0 and bytes(out) == want, f"paramiko {command}: status {status}, {len(out)} bytes")
    finally:
        t.close()


def _ssh_client(server: OurServer, payload: bytes, home: Path) -> None:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C"}
    r = subprocess.run(server.ssh_argv(command="echo hello; sha256sum"), input=payload, capture_output=True,
                       env=env, timeout=120)  # fmt: skip
    want = f"hello\n{hashlib.sha256(payload).hexdigest()}  -\n".encode()
    check(r.returncode == 0 and r.stdout == want, f"ssh: {r.returncode} {r.stdout[:100]!r} {r.stderr[-300:]!r}")
    r = subprocess.run(server.ssh_argv(command=f"head -c {len(payload)} /dev/zero"), capture_output=True, env=env,
                       timeout=120)  # fmt: skip
    check(r.returncode == 0 and r.stdout == bytes(len(payload)), f"ssh download: {r.returncode} {r.stderr[-300:]!r}")


def concurrent_clients(workdir: Path, clients: int, payload_size: int = MiB, settle: float = 15.0) -> dict[str, Any]:
    """``clients`` at once (half OpenSSH ssh, half paramiko) against our server's Listener, each
    running commands and moving ``payload_size`` both ways. Then: threads and fds of this process
    back to where they started, memory growth bounded."""
    threads0 = {t.ident for t in threading.enumerate()}
    fds0 = open_fds()
    rss0 = rss_kib()
    start = time.monotonic()
    server = start_our_server(workdir)
    payload = os.urandom(payload_size)
    failures: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            if i % 2:
                _paramiko_client(server, payload)
            else:
                _ssh_client(server, payload, workdir)
        except BaseException as exc:
            with lock:
                failures.append(f"client {i}: {type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=one, args=(i,), name=f"soak-client-{i}") for i in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    peak = rss_kib()
    close_listener(server.listener)
    # Descriptors still open while the (closed) listener object lives: harness.serve keeps every
    # Transport in Listener.transports and its command pipes open until those objects go.
    import gc

    gc.collect()
    fd_delta_listener_alive = open_fds() - fds0
    server.listener = None  # drop the Transports it keeps
    deadline = time.monotonic() + settle
    leftover: list[str] = []
    while time.monotonic() < deadline:
        gc.collect()  # pipes and sockets of finished commands close when their objects go
        leftover = [t.name for t in threading.enumerate() if t.ident not in threads0 and t.is_alive()]
        if not leftover and open_fds() <= fds0:
            break
        time.sleep(0.05)
    result = {"clients": clients, "failures": failures, "seconds": round(time.monotonic() - start, 1),
              "leftover_threads": leftover, "fd_delta": open_fds() - fds0,
              "fd_delta_listener_alive": fd_delta_listener_alive,
              "rss_growth_mib": round((peak - rss0) / 1024, 1)}  # fmt: skip
    check(not failures, f"{len(failures)} client(s) failed: {failures[:5]}")
    check(not leftover, f"threads left behind: {leftover}")
    check(result["fd_delta"] <= 0, f"{result['fd_delta']} file descriptor(s) left open")
    return result


# == faults ======================================================================================

PHASES = ("version", "kex", "auth", "channel")
SURVIVABLE = ("delay", "split", "stall")
FATAL = ("stall-forever", "truncate", "reset")
FAULT_KINDS = SURVIVABLE + FATAL
ECHO_BYTES = 256 * 1024


def calibrate(info: Any) -> dict[str, dict[str, int]]:
    """Byte offsets per direction where each phase starts, from one clean run through the proxy."""
    from harness.interop import authenticate

    with FaultProxy(info.address) as proxy:
        t = _connect_via(proxy, info, 10.0, connect=False)
        marks: dict[str, dict[str, int]] = {"version": {"c2s": 0, "s2c": 0}}
        try:
            t.connect(host_keys=_host_keys(info), hostname=info.host, port=info.port)
            marks["auth"] = proxy.offsets()
            authenticate(t, info, "publickey")
            chan = t.open_session()
            chan.exec_command("cat")
            marks["channel"] = proxy.offsets()
        finally:
            t.close()
    # The key exchange starts right after the version lines (shorter than 64 bytes here).
    marks["kex"] = {"c2s": 64, "s2c": 64}
    return marks


def _host_keys(info: Any) -> Any:
    from harness.ssh.keys import HostKeys

    hk = HostKeys()
    hk.load(str(info.known_hosts))
    return hk


def _connect_via(proxy: FaultProxy, info: Any, timeout: float, connect: bool = True) -> Any:
    from harness.interop import authenticate
    from harness.transport import Transport

    t = Transport(proxy.address, timeout=timeout)
    t.default_timeout = timeout
    opts = t.get_security_options()
    opts.kex = ("curve25519-sha256",)
    if connect:
        try:
            t.connect(host_keys=_host_keys(info), hostname=info.host, port=info.port)
            authenticate(t, info, "publickey")
        except BaseException:
            t.close()
            raise
    return t


def fault_for(kind: str, phase: str, direction: str, offsets: dict[str, dict[str, int]]) -> Fault:
    # Inside the phase: a few bytes in for the handshake phases, well into the echo for data.
    at = offsets[phase][direction] + (4 if phase == "version" else 40 if phase != "channel" else 100_000)
    if kind == "delay":
        return Fault("delay", direction, at=at, seconds=0.02)
    if kind == "split":
        return Fault("split", direction, at=at, count=4000)
    if kind == "stall":
        return Fault("stall", direction, at=at, seconds=0.5)
    if kind == "stall-forever":
        return Fault("stall", direction, at=at, seconds=None)
    return Fault(kind, direction, at=at)


def fault_case(info: Any, kind: str, phase: str, direction: str, offsets: dict[str, dict[str, int]],
               timeout: float = 3.0) -> dict[str, Any]:  # fmt: skip
    """One fault through the proxy: survivable kinds must deliver every echoed byte exactly once;
    fatal kinds must end in a typed error within the timeout (plus a margin), never a hang."""
    from harness.interop import echo_transfer

    fault = fault_for(kind, phase, direction, offsets)
    start = time.monotonic()
    error: BaseException | None = None
    with FaultProxy(info.address, [fault]) as proxy:
        t = None
        try:
            t = _connect_via(proxy, info, timeout if kind in FATAL else 30.0)
            echo_transfer(t, ECHO_BYTES, timeout=timeout if kind in FATAL else 30.0)
        except BaseException as exc:
            error = exc
        finally:
            if t is not None:
                t.close()
    elapsed = time.monotonic() - start
    result = {"kind": kind, "phase": phase, "direction": direction, "at": fault.at, "seconds": round(elapsed, 2),
              "error": None if error is None else f"{type(error).__name__}: {error}"}  # fmt: skip
    if kind in SURVIVABLE:
        check(error is None, f"{kind} in {phase} ({direction}) broke the session: {result['error']}")
    else:
        check(error is not None, f"{kind} in {phase} ({direction}): the session completed anyway")
        check(isinstance(error, TYPED_ERRORS), f"{kind} in {phase} ({direction}): untyped {result['error']}")
        # Waiting stops at our timeout; a few timeouts can chain (connect, auth, channel, echo).
        check(elapsed < 4 * timeout + 5, f"{kind} in {phase} ({direction}) took {elapsed:.1f} s")
    return result


def peer_alive(info: Any) -> None:
    from harness.interop import connect, run

    t = connect(info, auth="publickey", kex=("curve25519-sha256",))
    try:
        out, _, status = run(t, "echo alive")
    finally:
        t.close()
    check((out, status) == (b"alive\n", 0), "the peer did not survive")


# == `harness soak` ==============================================================================


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gib", type=float, default=10.0, help="GiB through one channel per pairing (default 10)")
    p.add_argument("--rekeys", type=int, default=1000, help="key re-exchanges per pairing (default 1000)")
    p.add_argument("--clients", type=int, default=100, help="concurrent clients against our server (default 100)")
    p.add_argument("--skip", action="append", default=[], choices=("transfer", "clients", "faults"))


def cli(args: argparse.Namespace) -> int:
    import json
    import shutil
    import tempfile

    from harness.peers.process import start_openssh_server

    work = Path(tempfile.mkdtemp(prefix="harness-soak-"))
    results: dict[str, Any] = {}
    failed = 0

    def step(name: str, fn: Callable[[], Any]) -> None:
        nonlocal failed
        print(f"== {name}", flush=True)
        try:
            results[name] = fn()
            print(f"   ok: {results[name]}", flush=True)
        except AssertionError as exc:
            failed += 1
            results[name] = {"failed": str(exc)}
            print(f"   FAILED: {exc}", flush=True)

    server = start_openssh_server()
    try:
        total = int(args.gib * GiB)
        if "transfer" not in args.skip:
            step("our client -> sshd", lambda: client_to_sshd(server.info, total, args.rekeys, timeout=3600))
            step("ssh -> our server", lambda: ssh_to_our_server(work, total, args.rekeys, timeout=3600))
        if "clients" not in args.skip:
            step(f"{args.clients} concurrent clients", lambda: concurrent_clients(work, args.clients))
        if "faults" not in args.skip:
            offsets = calibrate(server.info)
            for kind in FAULT_KINDS:
                for phase in PHASES:
                    for direction in ("c2s", "s2c"):
                        step(f"fault {kind} {phase} {direction}",
                             lambda k=kind, p=phase, d=direction: fault_case(server.info, k, p, d, offsets))
            step("peer alive", lambda: peer_alive(server.info))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=1, default=str))
    print(f"{len(results) - failed} ok, {failed} FAILED")
    return 1 if failed else 0
