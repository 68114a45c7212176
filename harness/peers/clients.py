"""Client peers: OpenSSH `ssh` and Dropbear `dbclient` of several releases, run in containers.

Why containers: the local machine has one release of each client; the peer images carry the
others (OpenSSH 8.4 and 10.0 clients, dbclient 2020.81 and 2025.89). A client run is one
short-lived container on the host network (so it reaches our server on 127.0.0.1), with a
directory of keys and known_hosts mounted read-only at /harness. Each run is labelled like the
server peers, removed when it exits (`--rm`), and bounded by a timeout.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.peers.base import PeerError

# Stable client peer id -> (binary, image); the same ids as harness.peers.client_peers.
CLIENT_PEERS: dict[str, tuple[str, str]] = {
    "openssh-client-8.4": ("ssh", "harness-peer/openssh:bullseye"),
    "openssh-client-9.2": ("ssh", "harness-peer/openssh:bookworm"),
    "openssh-client-10.0": ("ssh", "harness-peer/openssh:trixie"),
    "dbclient-2020.81": ("dbclient", "harness-peer/dropbear:bullseye"),
    "dbclient-2022.83": ("dbclient", "harness-peer/dropbear:bookworm"),
    "dbclient-2025.89": ("dbclient", "harness-peer/dropbear:trixie"),
}
# Sanitizer builds (ASan + UBSan of Debian's source package): not in the default client set.
SANITIZER_CLIENT_PEERS: dict[str, tuple[str, str]] = {
    "dbclient-2022.83-asan": ("dbclient", "harness-peer/dropbear:bookworm-asan"),
    "plink-0.78-asan": ("plink", "harness-peer/putty:bookworm-asan"),
}
MOUNT = "/harness"
# A writable mount for what the wrapper reports (how the client process ended).
OUT_MOUNT = "/harness-out"
# Runs the client as a child and writes how it ended ("exit N" / "signal N") to OUT_MOUNT/status.
# Why: `docker run` reports a death by signal N as status 128+N, which a remote command's own
# exit status (forwarded by ssh and dbclient) can imitate; the wait status cannot. Perl because
# perl-base is Essential in every Debian image.
_WAIT_STATUS_WRAPPER = (
    "my $rc = system { $ARGV[0] } @ARGV; my $st = $?; my $sig = $st & 127;"
    f" open(my $f, '>', '{OUT_MOUNT}/status') or die; "
    "print $f ($rc == -1 ? \"exec-failed $!\" : $sig ? \"signal $sig\" : 'exit ' . ($st >> 8)), \"\\n\"; close $f;"
    " exit($rc == -1 ? 127 : $sig ? 128 + $sig : $st >> 8);"
)
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
    argv = docker_run_argv(client_id, args, share, env=env, binary=binary)
    image = client_image(client_id)
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"client {client_id} did not finish within {timeout} s: {' '.join(args)}") from exc
    if proc.returncode == 125:  # docker itself failed (image missing, engine down)
        raise PeerError(f"client {client_id}: docker could not run {image}: {proc.stderr.decode(errors='replace')}")
    return ClientResult(client_id, proc.returncode, proc.stdout, proc.stderr)


def client_image(client_id: str) -> str:
    """The image a container client peer runs from (PeerError for an unknown id)."""
    from harness.peers.zoo import ZOO_CLIENTS

    known = {**CLIENT_PEERS, **SANITIZER_CLIENT_PEERS, **{cid: (c.program, c.image) for cid, c in ZOO_CLIENTS.items()}}
    if client_id not in known:
        raise PeerError(f"unknown client peer {client_id!r}; known: {', '.join(known)}")
    return known[client_id][1]


def docker_run_argv(client_id: str, args: list[str], share: Path, *, env: dict[str, str] | None = None,
                    binary: str | None = None, tty: bool = False, name: str = "",
                    out_dir: Path | None = None) -> list[str]:  # fmt: skip
    """The `docker run` command line for one client run (``run_client`` and the scenario launcher).

    ``tty``: the container gets a terminal (`-t`; the docker CLI's own stdin must then be one);
    ``name``: a container name, so a hung run can be killed with `docker kill`; ``out_dir``:
    mounted writable at /harness-out, and the client runs under a wrapper that writes its wait
    status there (see :data:`_WAIT_STATUS_WRAPPER`).
    """
    from harness.peers.docker import _owner_labels

    image = client_image(client_id)
    binary = binary or {**CLIENT_PEERS, **SANITIZER_CLIENT_PEERS}[client_id][0]
    path = binary if binary.startswith("/") else f"/usr/bin/{binary}"
    argv = [docker_cli(), "run", "--rm", "-i", *(["-t"] if tty else []), "--network", "host"]
    if name:
        argv += ["--name", name]
    for key, value in {**_owner_labels(), "harness.peer-id": client_id}.items():
        argv += ["--label", f"{key}={value}"]
    argv += ["-v", f"{share}:{MOUNT}:ro", "-e", f"HOME={MOUNT}/home"]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    if out_dir is None:
        return [*argv, "--entrypoint", path, image, *args]
    argv += ["-v", f"{out_dir}:{OUT_MOUNT}:rw", "--entrypoint", "/usr/bin/perl"]
    return [*argv, image, "-e", _WAIT_STATUS_WRAPPER, path, *args]


def query(client_id: str, what: str, share: Path) -> list[str]:
    """`ssh -Q what` of an OpenSSH client peer (what it supports)."""
    result = run_client(client_id, ["-Q", what], share, timeout=60)
    return result.stdout.decode().split()
