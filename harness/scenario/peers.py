"""Peers for scenarios: server peers from the registry (reused per worker), client peers as
local binaries that connect to a listener the scenario owns.

Server peers: one handle per peer id per process (pytest-xdist worker), started on first use
and restarted when a scenario killed it. Client peers (``openssh-client``, ``dbclient``,
``plink``): each server-role scenario listens on a fresh loopback port and runs the client
binary against it; ``Connect`` accepts that connection.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ssh.config import ConnectionConfig

# -- server peers ---------------------------------------------------------------------------

# Options every instance of a peer gets. OpenSSH >= 9.8 penalises addresses that cause protocol
# errors (PerSourcePenalties): misbehaviour scenarios from 127.0.0.1 would get later connections
# refused, so scenario peers run with it off (the penalty itself is not under test here).
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "openssh-10.0": {"extra_config": {"PerSourcePenalties": "no"}},
}


def _merge(peer_id: str, options: dict[str, Any]) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_OPTIONS.get(peer_id, {}).items()}
    for key, value in options.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


class PeerPool:
    def __init__(self, launcher: str) -> None:
        self.launcher = launcher
        self.handles: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="harness-scenario-peers-"))
        self.starts: dict[str, int] = {}

    def get(self, peer_id: str, options: dict[str, Any] | None = None) -> Any:
        """A running handle for ``peer_id`` (raises PeerError with the reason if it cannot start).

        ``options`` (launcher options such as extra_config) give a separate, dedicated instance."""
        from harness.peers.base import PeerError
        from harness.peers.registry import start_peer

        options = options or {}
        key = peer_id + (repr(sorted(options.items())) if options else "")
        handle = self.handles.get(key)
        if handle is not None and getattr(handle, "running", True):
            return handle
        if handle is not None:
            handle.stop()
        if key in self.errors and self.starts.get(key, 0) >= 2:
            raise PeerError(self.errors[key])
        self.starts[key] = self.starts.get(key, 0) + 1
        workdir = self._tmp / f"{peer_id}-{len(self.starts)}-{self.starts[key]}"
        try:
            handle = start_peer(peer_id, self.launcher, workdir, **_merge(peer_id, options))
        except Exception as exc:
            self.errors[key] = f"{peer_id} did not start: {exc}"
            raise PeerError(self.errors[key]) from exc
        self.handles[key] = handle
        return handle

    def stop_all(self) -> None:
        for handle in self.handles.values():
            try:
                handle.stop()
            except Exception:
                pass
        self.handles.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)


# -- client peers ---------------------------------------------------------------------------


@dataclass
class ClientPeerInfo:
    """PeerInfo-like description of a local client binary (what requirements look at)."""

    peer_id: str
    product: str
    version: str
    binary: str
    banner: str = ""
    username: str = "sshharness"
    password: str = "harness-Test-pw-4711"
    algorithms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def _version(argv: list[str], pattern: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = re.search(pattern, out.stdout + out.stderr)
    return found.group(1) if found else ""


_CLIENTS = {
    "openssh-client": ("openssh", "/usr/bin/ssh", ["/usr/bin/ssh", "-V"], r"OpenSSH_(\S+?)[,\s]"),
    "dbclient": ("dropbear", "/usr/bin/dbclient", ["/usr/bin/dbclient", "-V"], r"v(\d{4}\.\d+)"),
    "plink": ("putty", "/usr/bin/plink", ["/usr/bin/plink", "-V"], r"Release (\S+)"),
}


def client_peer_ids() -> list[str]:
    return [pid for pid, (_, binary, _, _) in _CLIENTS.items() if Path(binary).exists()]


def client_peer_info(peer_id: str) -> ClientPeerInfo:
    product, binary, argv, pattern = _CLIENTS[peer_id]
    return ClientPeerInfo(peer_id, product, _version(argv, pattern), binary)


_HOST_KEY: Any = None


def server_host_key() -> Any:
    global _HOST_KEY
    if _HOST_KEY is None:
        from harness.ssh.keys import Ed25519Key

        _HOST_KEY = Ed25519Key.generate()
    return _HOST_KEY


class ClientTarget:
    """Listens on loopback, runs the client binary against it, hands the accepted socket over."""

    def __init__(self, info: ClientPeerInfo) -> None:
        self.info = info
        self.process: subprocess.Popen[bytes] | None = None
        self.ctx: Any = None

    def argv(self, port: int) -> list[str]:
        info = self.info
        user_host = f"{info.username}@127.0.0.1"
        if info.peer_id == "openssh-client":
            return [info.binary, "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
                    "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                    "-o", "LogLevel=ERROR", "-F", "/dev/null", user_host, "true"]  # fmt: skip
        if info.peer_id == "dbclient":
            return [info.binary, "-y", "-y", "-p", str(port), user_host, "true"]
        fingerprint = server_host_key().fingerprint_sha256()
        return [info.binary, "-batch", "-ssh", "-P", str(port), "-hostkey", fingerprint, user_host, "true"]

    def configure(self, config: ConnectionConfig) -> None:
        config.server_host_keys = [server_host_key()]
        config.apply_server_defaults()

    def accept(self, ctx: Any) -> tuple[socket.socket, Any]:
        from harness.ssh.policy import ServerPolicy

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(ctx.timeout + 5)
        port = listener.getsockname()[1]
        self.info.port = port
        self.process = subprocess.Popen(self.argv(port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)  # fmt: skip
        self.ctx = ctx
        ctx.cleanups.append(self.cleanup)
        try:
            sock, _ = listener.accept()
        finally:
            listener.close()
        sock.settimeout(None)
        return sock, ServerPolicy()

    def cleanup(self) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            out, _ = proc.communicate(timeout=5)
            self.output = out.decode(errors="replace")
            if self.ctx is not None:
                self.ctx.note(f"client {self.info.peer_id} exited {proc.returncode}: {self.output.strip()[-600:]}")
        except subprocess.TimeoutExpired:
            pass
