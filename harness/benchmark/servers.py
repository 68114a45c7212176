"""The servers a benchmark run talks to, each with a CPU meter and its recorded window settings.

* OpenSSH ``sshd`` and Dropbear through the process launcher (per-run clean home for the test
  user, whose shell is /bin/sh, so no start-up files cost time per command).
* Our server: ``python -m harness serve`` in its own process, so its CPU is measured apart from
  the clients (commands run with HOME set to an empty directory).
* OpenSSH 10 in Docker, only for the mlkem768x25519-sha256 handshake (skipped with the reason
  when the engine or image is missing); OpenSSH 9.2 in Docker for the SFTP section on request.

Server CPU is the sum of user+system time (own and reaped children's) over every process of the
server's tree, read from /proc before and after a transfer: the per-connection processes of
sshd/Dropbear live in the server's own PID namespace, so nothing escapes the sum.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.benchmark.clients import Target

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Dropbear's own default receive window is 24 KiB (slow uploads); the benchmark gives every
# server the 2 MiB window OpenSSH, paramiko, AsyncSSH and we use, and records it.
DROPBEAR_WINDOW = 2 * 1024 * 1024


def _stat_cpu(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` in seconds (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def _descendants(pid: int) -> list[int]:
    found = [pid]
    i = 0
    while i < len(found):
        p = found[i]
        i += 1
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                found += [int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split()]
            except OSError:
                pass
    return found


@dataclass
class Server:
    label: str  # "sshd", "dropbear", "harness-server", "openssh-10.0 (docker)"
    version: str
    target: Target
    stop: Callable[[], None]
    pids: Callable[[], list[int]] | None = None  # None: CPU cannot be measured
    settings: dict[str, Any] = field(default_factory=dict)
    algorithms: dict[str, Any] = field(default_factory=dict)  # what the server offered (KEXINIT)
    # The login user's home as seen from this machine (the SFTP section plants its file there).
    home: Path | None = None

    def cpu(self) -> float | None:
        if self.pids is None:
            return None
        return sum(_stat_cpu(p) for p in self.pids())

    def settle(self, timeout: float = 2.0) -> None:
        """Wait until the per-connection processes of a finished connection are reaped."""
        if self.pids is None:
            return
        deadline = time.monotonic() + timeout
        while len(self.pids()) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)


def _target(name: str, info: Any) -> Target:
    return Target(name, info.host, info.port, info.username, Path(info.client_keys["ed25519"]),
                  Path(info.known_hosts))  # fmt: skip


def start_sshd() -> Server:
    from harness.peers.process import processes_in_namespace, start_openssh_server

    handle = start_openssh_server(extra_config={"LogLevel": "ERROR"})
    ns = handle.pid_namespace
    return Server("sshd", handle.info.banner, _target("sshd", handle.info), handle.stop,
                  lambda: processes_in_namespace(ns),
                  {"window": "2 MiB (CHAN_SES_WINDOW_DEFAULT)", "max_packet": 32768, "home": "clean per-run",
                   "shell": "/bin/sh"}, handle.info.algorithms, handle.info.home)  # fmt: skip


def start_dropbear() -> Server:
    from harness.peers.process import processes_in_namespace, start_dropbear_server

    handle = start_dropbear_server(extra_args=["-W", str(DROPBEAR_WINDOW)])
    ns = handle.pid_namespace
    return Server("dropbear", handle.info.banner, _target("dropbear", handle.info), handle.stop,
                  lambda: processes_in_namespace(ns),
                  {"window": f"{DROPBEAR_WINDOW} (-W; default 24576)", "max_packet": 32768,
                   "home": "clean per-run", "shell": "/bin/sh"}, handle.info.algorithms)  # fmt: skip


def start_docker_openssh(peer_id: str = "openssh-10.0") -> Server:
    """An OpenSSH container peer (10.0 for mlkem768x25519; 9.2 for the SFTP section on request).

    Its server CPU is not measured (the container's processes are not in our PID namespace).
    """
    from harness.peers.registry import start_peer

    handle = start_peer(peer_id, "docker")
    return Server(f"{peer_id} (docker)", handle.info.banner, _target(peer_id, handle.info), handle.stop,
                  None, {"window": "2 MiB", "launcher": "docker"}, handle.info.algorithms,
                  handle.info.home)  # fmt: skip


def start_docker_openssh10() -> Server:
    return start_docker_openssh("openssh-10.0")


def start_our_server(client_key: Path) -> Server:
    """``python -m harness serve`` on a free port with an Ed25519 host key and one authorized key."""
    work = Path(tempfile.mkdtemp(prefix="harness-bench-serve-"))
    host_key = work / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True,
                   stdin=subprocess.DEVNULL)  # fmt: skip
    home = work / "home"
    home.mkdir()
    argv = [sys.executable, "-m", "harness", "serve", "--port", "0", "--host-key", str(host_key), "--user", "bench",
            "--authorized-keys", f"{client_key}.pub", "--cwd", str(home)]  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    log = open(work / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, cwd=root, env={**os.environ, "HOME": str(home)},
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    match = re.search(r"serving SSH on ([\d.]+):(\d+)", line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"harness serve did not start: {line!r} {(work / 'serve.log').read_text()[-500:]}")
    host, port = match.group(1), int(match.group(2))
    pub = Path(f"{host_key}.pub").read_text().split()
    known = work / "known_hosts"
    known.write_text(f"[{host}]:{port} {pub[0]} {pub[1]}\n")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        log.close()
        import shutil

        shutil.rmtree(work, ignore_errors=True)

    from harness.ssh import limits

    target = Target("harness-server", host, port, "bench", client_key, known)
    return Server("harness-server", "harness serve (this tree)", target, stop, lambda: _descendants(proc.pid),
                  {"window": limits.DEFAULT_WINDOW, "max_packet": limits.DEFAULT_MAX_PACKET,
                   "home": "empty temp dir", "shell": "/bin/sh"})  # fmt: skip
