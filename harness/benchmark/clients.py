"""The four clients the benchmark compares, behind one small interface.

Each client can (a) connect and move ``size`` bytes down (``head -c N /dev/zero``) or up
(``cat > /dev/null``) through one session channel, (b) time a login up to the first command's exit
status, and (c) open, use and close many channels on one connection. Python clients are measured
in this process (``time.process_time`` counts every thread); the ``ssh`` binary is measured through
``os.wait4``'s resource usage of exactly that child. Timers start once the command runs, so the
Python figures leave out the login; for ``ssh`` (one process per transfer) the caller subtracts a
measured login baseline.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 1 << 20
ZERO_BLOCK = bytes(BLOCK)
TIMEOUT = 120.0


def run_measured(argv: list[str], env: dict[str, str], stdin: Any, what: str) -> tuple[float, float]:
    """Run a client binary to completion: (wall seconds, CPU seconds of it and the children it reaped).

    ``os.wait4`` gives the child's rusage including its own reaped children (``sftp`` waits for
    its ``ssh``), which ``resource.getrusage(RUSAGE_CHILDREN)`` would mix with every other child
    of this process. A non-zero exit raises with the tail of its stderr.
    """
    w0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - w0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{what} exited with {proc.returncode}: {err.decode(errors='replace')[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Algorithms:
    """One cipher configuration of the benchmark (mac None: an AEAD cipher)."""

    label: str
    cipher: str
    mac: str | None = None


CIPHERS = (
    Algorithms("aes128-gcm", "aes128-gcm@openssh.com"),
    Algorithms("chacha20-poly1305", "chacha20-poly1305@openssh.com"),
    Algorithms("aes128-ctr+hmac-sha2-256", "aes128-ctr", "hmac-sha2-256"),
    Algorithms("aes128-ctr+hmac-sha2-256-etm", "aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
)
KEX_METHODS = ("curve25519-sha256", "mlkem768x25519-sha256", "sntrup761x25519-sha512", "diffie-hellman-group14-sha256")
HANDSHAKE_CIPHER = CIPHERS[0]
# Bulk connections use the cheap method (our default prefers the pure-Python sntrup761 hybrid).
BULK_KEX = "curve25519-sha256"


@dataclass
class Target:
    """Where a client connects: one server, one user, the Ed25519 client key, a known_hosts file."""

    name: str
    host: str
    port: int
    user: str
    key: Path
    known_hosts: Path


@dataclass
class Sample:
    nbytes: int
    wall: float
    cpu: float  # client CPU seconds
    extra: dict[str, float] = field(default_factory=dict)


class Unsupported(Exception):
    """The client (or server) cannot do this combination; the message says why."""


def _nodelay(sock: socket.socket) -> socket.socket:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# == our client ==================================================================================


class Ours:
    name = "harness"

    def _connect(self, target: Target, algs: Algorithms, kex: str | None = None):  # type: ignore[no-untyped-def]
        from harness.ssh.keys import HostKeys, load_private_key_file
        from harness.transport import Transport

        t = Transport((target.host, target.port))
        t.default_timeout = TIMEOUT
        opts = t.get_security_options()
        opts.ciphers = (algs.cipher,)
        if algs.mac:
            opts.digests = (algs.mac,)
        if kex:
            opts.kex = (kex,)
        hk = HostKeys()
        hk.load(str(target.known_hosts))
        try:
            t.connect(host_keys=hk, hostname=target.host, port=target.port)
            t.auth_publickey(target.user, load_private_key_file(str(target.key)))
        except BaseException:
            t.close()
            raise
        return t

    def bulk(self, target: Target, algs: Algorithms, direction: str, size: int,
             probe: Callable[[], None] = lambda: None) -> Sample:  # fmt: skip
        return channel_bulk(self._connect(target, algs, BULK_KEX), direction, size, probe, _drain_into)

    def handshake(self, target: Target, kex: str, algs: Algorithms = HANDSHAKE_CIPHER) -> float:
        return self.handshake_phases(target, kex, algs)["total"]

    def handshake_phases(self, target: Target, kex: str, algs: Algorithms = HANDSHAKE_CIPHER) -> dict[str, float]:
        """Milliseconds per phase of one login up to the exit status of `true`, and our CPU."""
        from harness.ssh.keys import HostKeys, load_private_key_file
        from harness.transport import Transport

        key = load_private_key_file(str(target.key))
        hk = HostKeys()
        hk.load(str(target.known_hosts))
        c0 = time.process_time()
        marks = [time.perf_counter()]
        t = Transport((target.host, target.port))
        try:
            opts = t.get_security_options()
            opts.ciphers = (algs.cipher,)
            if algs.mac:
                opts.digests = (algs.mac,)
            opts.kex = (kex,)
            marks.append(time.perf_counter())
            t.connect(host_keys=hk, hostname=target.host, port=target.port)
            marks.append(time.perf_counter())
            t.auth_publickey(target.user, key)
            marks.append(time.perf_counter())
            chan = t.open_session()
            marks.append(time.perf_counter())
            chan.exec_command("true")
            status = chan.recv_exit_status()
            marks.append(time.perf_counter())
            cpu = time.process_time() - c0
        finally:
            t.close()
        if status != 0:
            raise RuntimeError(f"`true` exited with {status}")
        names = ("tcp_connect", "version+kex", "auth", "channel_open", "exec_to_exit_status")
        out = {n: 1000 * (b - a) for n, a, b in zip(names, marks[:-1], marks[1:], strict=True)}
        out["total"] = 1000 * (marks[-1] - marks[0])
        out["client_cpu"] = 1000 * cpu
        return out

    def channels(self, target: Target, count: int) -> Sample:
        t = self._connect(target, HANDSHAKE_CIPHER, BULK_KEX)
        try:
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(count):
                chan = t.open_session()
                chan.exec_command("echo x")
                out = chan.recv(16)
                if chan.recv_exit_status() != 0 or not out.startswith(b"x"):
                    raise RuntimeError(f"channel gave {out!r}")
                chan.close()
            return Sample(count, time.perf_counter() - w0, time.process_time() - c0)
        finally:
            t.close()


def _check(n: int, size: int, status: int | None) -> None:
    if n != size:
        raise RuntimeError(f"moved {n} bytes, expected {size}")
    if status not in (0, None):
        raise RuntimeError(f"the remote command exited with {status}")


def _drain_into(chan: Any) -> int:
    """Read a channel to EOF into one reused buffer (our Channel has recv_into); bytes read."""
    buf = memoryview(bytearray(BLOCK))
    n = 0
    while k := chan.recv_into(buf):
        n += k
    return n


def _drain(chan: Any) -> int:
    """Read a channel to EOF with recv (paramiko's Channel); bytes read."""
    n = 0
    while data := chan.recv(BLOCK):
        n += len(data)
    return n


def channel_bulk(t: Any, direction: str, size: int, probe: Callable[[], None],
                 drain: Callable[[Any], int]) -> Sample:  # fmt: skip
    """One bulk transfer on a paramiko-style transport (ours and paramiko share the API), which
    it closes: ``head -c`` down or ``cat > /dev/null`` up, timed from the first byte asked for
    to the exit status; ``probe`` runs just before and after the timed part."""
    try:
        chan = t.open_session()
        chan.settimeout(TIMEOUT)
        if direction == "down":
            chan.exec_command(f"head -c {size} /dev/zero")
            probe()
            c0, w0 = time.process_time(), time.perf_counter()
            n = drain(chan)
        else:
            chan.exec_command("cat > /dev/null")
            probe()
            c0, w0 = time.process_time(), time.perf_counter()
            n = 0
            while n < size:
                chunk = ZERO_BLOCK if size - n >= BLOCK else ZERO_BLOCK[: size - n]
                chan.sendall(chunk)
                n += len(chunk)
            chan.shutdown_write()
        status = chan.recv_exit_status()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        probe()
        chan.close()
    finally:
        t.close()
    _check(n, size, status)
    return Sample(n, wall, cpu)


# == paramiko ====================================================================================

# paramiko names curve25519-sha256 only by its older alias (the same method).
PARAMIKO_KEX_ALIASES = {"curve25519-sha256": "curve25519-sha256@libssh.org"}


class Paramiko:
    name = "paramiko"

    def _connect(self, target: Target, algs: Algorithms, kex: str | None = None):  # type: ignore[no-untyped-def]
        import paramiko

        if algs.cipher not in paramiko.Transport._preferred_ciphers:
            raise Unsupported(f"paramiko {paramiko.__version__} has no {algs.cipher}")
        if algs.mac and algs.mac not in paramiko.Transport._preferred_macs:
            raise Unsupported(f"paramiko {paramiko.__version__} has no {algs.mac}")
        kex_name = PARAMIKO_KEX_ALIASES.get(kex, kex) if kex else None
        if kex_name and kex_name not in paramiko.Transport._preferred_kex:
            raise Unsupported(f"paramiko {paramiko.__version__} has no {kex}")
        sock = _nodelay(socket.create_connection((target.host, target.port), timeout=TIMEOUT))
        t = paramiko.Transport(sock)
        opts = t.get_security_options()
        opts.ciphers = (algs.cipher,)
        if algs.mac:
            opts.digests = (algs.mac,)
        if kex_name:
            opts.kex = (kex_name,)
        try:
            t.start_client(timeout=TIMEOUT)
            t.auth_publickey(target.user, paramiko.Ed25519Key.from_private_key_file(str(target.key)))
        except BaseException:
            t.close()
            raise
        return t

    def bulk(self, target: Target, algs: Algorithms, direction: str, size: int,
             probe: Callable[[], None] = lambda: None) -> Sample:  # fmt: skip
        return channel_bulk(self._connect(target, algs), direction, size, probe, _drain)

    def handshake(self, target: Target, kex: str, algs: Algorithms = HANDSHAKE_CIPHER) -> float:
        w0 = time.perf_counter()
        t = self._connect(target, algs, kex)
        try:
            chan = t.open_session()
            chan.exec_command("true")
            status = chan.recv_exit_status()
            ms = 1000 * (time.perf_counter() - w0)
        finally:
            t.close()
        if status != 0:
            raise RuntimeError(f"`true` exited with {status}")
        return ms

    def channels(self, target: Target, count: int) -> Sample:
        t = self._connect(target, HANDSHAKE_CIPHER)
        try:
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(count):
                chan = t.open_session()
                chan.exec_command("echo x")
                out = chan.recv(16)
                if chan.recv_exit_status() != 0 or not out.startswith(b"x"):
                    raise RuntimeError(f"channel gave {out!r}")
                chan.close()
            return Sample(count, time.perf_counter() - w0, time.process_time() - c0)
        finally:
            t.close()


# == AsyncSSH ====================================================================================


class AsyncSSH:
    name = "asyncssh"

    async def _connect(self, target: Target, algs: Algorithms, kex: str | None = None):  # type: ignore[no-untyped-def]
        import asyncssh

        options: dict[str, object] = {"encryption_algs": [algs.cipher]}
        if algs.mac:
            options["mac_algs"] = [algs.mac]
        if kex:
            if kex.encode() not in asyncssh.kex.get_kex_algs():
                raise Unsupported(f"asyncssh {asyncssh.__version__} has no {kex} here (needs liboqs)")
            options["kex_algs"] = [kex]
        return await asyncssh.connect(target.host, target.port, username=target.user,
                                      client_keys=[str(target.key)], known_hosts=str(target.known_hosts),
                                      agent_path=None, config=[], **options)  # fmt: skip

    def bulk(self, target: Target, algs: Algorithms, direction: str, size: int,
             probe: Callable[[], None] = lambda: None) -> Sample:  # fmt: skip
        async def run() -> Sample:
            async with await self._connect(target, algs) as conn:
                n = 0
                if direction == "down":
                    proc = await conn.create_process(f"head -c {size} /dev/zero", encoding=None)
                    probe()
                    c0, w0 = time.process_time(), time.perf_counter()
                    while data := await proc.stdout.read(BLOCK):
                        n += len(data)
                else:
                    proc = await conn.create_process("cat > /dev/null", encoding=None)
                    probe()
                    c0, w0 = time.process_time(), time.perf_counter()
                    while n < size:
                        chunk = ZERO_BLOCK if size - n >= BLOCK else ZERO_BLOCK[: size - n]
                        proc.stdin.write(chunk)
                        await proc.stdin.drain()
                        n += len(chunk)
                    proc.stdin.write_eof()
                await proc.wait_closed()
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                probe()
                _check(n, size, proc.exit_status)
                return Sample(n, wall, cpu)

        return asyncio.run(run())

    def handshake(self, target: Target, kex: str, algs: Algorithms = HANDSHAKE_CIPHER) -> float:
        async def run() -> float:
            w0 = time.perf_counter()
            async with await self._connect(target, algs, kex) as conn:
                result = await conn.run("true")
                ms = 1000 * (time.perf_counter() - w0)
            if result.exit_status != 0:
                raise RuntimeError(f"`true` exited with {result.exit_status}")
            return ms

        return asyncio.run(run())

    def channels(self, target: Target, count: int) -> Sample:
        async def run() -> Sample:
            async with await self._connect(target, HANDSHAKE_CIPHER) as conn:
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(count):
                    result = await conn.run("echo x", encoding=None)
                    if result.exit_status != 0 or not result.stdout.startswith(b"x"):
                        raise RuntimeError(f"channel gave {result.stdout!r}")
                return Sample(count, time.perf_counter() - w0, time.process_time() - c0)

        return asyncio.run(run())


# == OpenSSH ssh =================================================================================


class OpenSSH:
    """The ``ssh`` binary, one process per login; ``home`` is an empty HOME for it."""

    name = "ssh"

    def __init__(self, home: Path, upload_file: Path | None = None, binary: str = "/usr/bin/ssh") -> None:
        self.home = home
        self.upload_file = upload_file
        self.binary = binary

    def argv(self, target: Target, algs: Algorithms, kex: str | None, command: str) -> list[str]:
        argv = [self.binary, "-F", "/dev/null", "-p", str(target.port), "-i", str(target.key),
                "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={target.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "-o", "ControlMaster=no", "-c", algs.cipher]  # fmt: skip
        if algs.mac:
            argv += ["-m", algs.mac]
        if kex:
            argv += ["-o", f"KexAlgorithms={kex}"]
        return [*argv, f"{target.user}@{target.host}", command]

    def run(self, argv: list[str], stdin_path: Path | None = None) -> tuple[float, float, int]:
        """(wall seconds, CPU seconds of the child, exit status)."""
        env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin", "LANG": "C"}
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            wall, cpu = run_measured(argv, env, stdin, "ssh")
        finally:
            if stdin_path:
                stdin.close()  # type: ignore[union-attr]
        return wall, cpu, 0

    def bulk(self, target: Target, algs: Algorithms, direction: str, size: int,
             probe: Callable[[], None] = lambda: None) -> Sample:  # fmt: skip
        """The whole run including the login; the caller subtracts :meth:`baseline`."""
        probe()
        if direction == "down":
            wall, cpu, _ = self.run(self.argv(target, algs, None, f"head -c {size} /dev/zero"))
        else:
            if self.upload_file is None or self.upload_file.stat().st_size != size:
                raise Unsupported("no upload file of the right size")
            wall, cpu, _ = self.run(self.argv(target, algs, None, "cat > /dev/null"), self.upload_file)
        return Sample(size, wall, cpu)

    def baseline(self, target: Target, algs: Algorithms) -> Sample:
        wall, cpu, _ = self.run(self.argv(target, algs, None, "true"))
        return Sample(0, wall, cpu)

    def handshake(self, target: Target, kex: str, algs: Algorithms = HANDSHAKE_CIPHER) -> float:
        wall, _, _ = self.run(self.argv(target, algs, kex, "true"))
        return 1000 * wall

    def channels(self, target: Target, count: int) -> Sample:
        raise Unsupported("ssh runs one command per process (multiplexing would measure ControlMaster)")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
