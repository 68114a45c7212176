"""Client peers: OpenSSH `ssh` and Dropbear `dbclient` of several releases, run in containers.

Why containers: the local machine has one release of each client; the peer images carry the
others (OpenSSH 8.4 and 10.0 clients, dbclient 2020.81 and 2025.89). A client run is one
short-lived container on the host network (so it reaches our server on 127.0.0.1), with a
directory of keys and known_hosts mounted read-only at /harness. Each run is labelled like the
server peers, removed when it exits (`--rm`), and bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.peers.base import PeerError

# Stable id -> (binary, image). The local binaries serve as the "-local" ids.
CLIENT_PEERS: dict[str, tuple[str, str]] = {
    "ssh-8.4": ("ssh", "harness-peer/openssh:bullseye"),
    "ssh-9.2": ("ssh", "harness-peer/openssh:bookworm"),
    "ssh-10.0": ("ssh", "harness-peer/openssh:trixie"),
    "dbclient-2020.81": ("dbclient", "harness-peer/dropbear:bullseye"),
    "dbclient-2022.83": ("dbclient", "harness-peer/dropbear:bookworm"),
    "dbclient-2025.89": ("dbclient", "harness-peer/dropbear:trixie"),
}
MOUNT = "/harness"
# A client run that takes longer than this is a hung client or server (64 MiB runs take ~2 s).
RUN_TIMEOUT = 300.0


@dataclass(frozen=True)
class ClientResult:
    client: str
    returncode: int
    stdout: bytes
    stderr: bytes


def docker_cli() -> str:
    path = shutil.which("docker")
    if path is None:
        raise PeerError("the docker command is not installed (containers/bootstrap.sh installs docker.io)")
    return path


def run_client(client_id: str, args: list[str], share: Path, *, stdin: bytes | None = None,
               env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT,
               binary: str | None = None) -> ClientResult:  # fmt: skip
    """Run ``<binary> args`` from the client peer's image; ``share`` is mounted at /harness.

    ``binary`` picks another program of the same image (e.g. ``sftp`` of an OpenSSH release).
    """
    try:
        default_binary, image = CLIENT_PEERS[client_id]
    except KeyError:
        raise PeerError(f"unknown client peer {client_id!r}; known: {', '.join(CLIENT_PEERS)}") from None
    binary = binary or default_binary
    argv = [docker_cli(), "run", "--rm", "-i", "--network", "host", "--label", "harness.peer=1",
            "--label", f"harness.run={os.getpid()}", "-v", f"{share}:{MOUNT}:ro", "-e", f"HOME={MOUNT}/home",
            "--entrypoint", binary if binary.startswith("/") else f"/usr/bin/{binary}"]  # fmt: skip
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    argv += [image, *args]
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"client {client_id} did not finish within {timeout} s: {' '.join(args)}") from exc
    if proc.returncode == 125:  # docker itself failed (image missing, engine down)
        raise PeerError(f"client {client_id}: docker could not run {image}: {proc.stderr.decode(errors='replace')}")
    return ClientResult(client_id, proc.returncode, proc.stdout, proc.stderr)


def query(client_id: str, what: str, share: Path) -> list[str]:
    """`ssh -Q what` of an OpenSSH client peer (what it supports)."""
    result = run_client(client_id, ["-Q", what], share, timeout=60)
    return result.stdout.decode().split()
