"""Start a zoo server peer (:mod:`harness.peers.zoo`) as a Docker container; run a zoo client.

The container handling (labels, readiness, port races, logs, stop) is the Docker launcher's;
this module only plans a zoo start: host keys made here with ``ssh-keygen`` (ECDSA and RSA in
PEM, which every library reads), the per-run home, the command, and what the peer is.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.images import Image

from harness.peers import docker as docker_launcher
from harness.peers.base import (
    LOOPBACK,
    PeerError,
    PeerInfo,
    PeerStartError,
    client_keys,
    generate_openssh_key,
    parse_software_version,
    pick_free_port,
    tail,
    wait_all,
    write_known_hosts,
)
from harness.peers.clients import ClientResult, docker_cli
from harness.peers.probe import ProbeError, read_server_kexinit
from harness.peers.testuser import TEST_PASSWORD, TEST_USER
from harness.peers.zoo import ZOO_CLIENTS, ZOO_SERVERS, ZooServer, encode_options, offers_cache, recorded_offers

# Host key name -> ssh-keygen arguments. PEM for ECDSA and RSA: paramiko 2.12, Conch, libssh,
# node's ssh2 and lsh's pkcs1-conv all read it; Ed25519 exists only in the OpenSSH format.
HOST_KEY_SPECS: dict[str, tuple[str, ...]] = {
    "ed25519": ("-t", "ed25519"),
    "ecdsa": ("-t", "ecdsa", "-b", "256", "-m", "PEM"),
    "rsa": ("-t", "rsa", "-b", "3072", "-m", "PEM"),
}


class _HostKeyCache:
    """Zoo host keys made once per process and type (RSA 3072 generation is most of a start's
    local work), copied into each start's workdir; removed at exit by the process that made them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._dir: Path | None = None

    def directory(self, names: Sequence[str]) -> Path:
        with self._lock:
            if self._pid != os.getpid() or self._dir is None or not self._dir.exists():
                self._dir = Path(tempfile.mkdtemp(prefix=f"harness-zoo-hostkeys-{os.getpid()}-"))
                self._pid = os.getpid()
                atexit.register(_remove_if_owner, self._dir, os.getpid())
            missing = [name for name in names if not (self._dir / f"ssh_host_{name}_key.pub").exists()]
            procs = {name: generate_openssh_key(self._dir / f"ssh_host_{name}_key", HOST_KEY_SPECS[name])
                     for name in missing}
            wait_all(procs, "zoo host keys")
            return self._dir


def _remove_if_owner(directory: Path, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(directory, ignore_errors=True)


_host_keys = _HostKeyCache()


def _make_host_keys(keydir: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Copies the process's host keys of ``names`` into ``keydir``; name -> ``.pub`` path."""
    if keydir.exists():
        shutil.rmtree(keydir)
    keydir.mkdir(parents=True)
    source = _host_keys.directory(names)
    pubkeys = {}
    for name in names:
        for suffix in ("", ".pub"):
            shutil.copy2(source / f"ssh_host_{name}_key{suffix}", keydir / f"ssh_host_{name}_key{suffix}")
        pubkeys[name] = keydir / f"ssh_host_{name}_key.pub"
    return pubkeys


def start_zoo_server(peer_id: str, workdir: Path | None = None, *, timeout: float = 30.0,
                     extra_args: Sequence[str] = (),
                     labels: Mapping[str, str] | None = None) -> docker_launcher.DockerServer:
    """Start the zoo server ``peer_id`` on a free loopback port; returns once it answered.

    ``workdir`` (None: a temp dir that ``stop()`` removes) is mounted at /harness and holds the
    host keys, known_hosts, the per-run home and the log. ``extra_args`` go to the server
    program (e.g. ``--stock-ciphers`` for libssh-server); ``labels`` are added to the container's
    (`harness peers start` marks its containers so).
    """
    server = ZOO_SERVERS.get(peer_id)
    if server is None:
        raise ValueError(f"unknown zoo peer {peer_id!r}; known: {', '.join(ZOO_SERVERS)}")
    deadline = time.monotonic() + timeout
    spec = server.spec
    try:
        client = docker_launcher._client()
        docker_launcher._cleanup_once()
        image = client.images.get(spec.image)
    except docker.errors.ImageNotFound as exc:
        raise PeerStartError(f"image {spec.image} is not built; "
                             f"run `bash containers/bootstrap.sh {spec.kind}`") from exc
    except docker.errors.DockerException as exc:
        raise PeerStartError(f"Docker engine not usable: {exc} (see docker_available())") from exc
    cleanup: list[Path] = []
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix=f"harness-zoo-{peer_id}-"))
        cleanup.append(workdir)
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        workdir = workdir.resolve()
    try:
        return _start(client, server, image, workdir, cleanup, deadline, tuple(extra_args), dict(labels or {}))
    except BaseException:
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _start(client: docker.DockerClient, server: ZooServer, image: Image, workdir: Path,
           cleanup: list[Path], deadline: float, extra_args: tuple[str, ...],
           labels: dict[str, str]) -> docker_launcher.DockerServer:
    spec = server.spec
    pubkeys = _make_host_keys(workdir / "hostkeys", server.host_keys)
    home = workdir / "home"
    docker_launcher._prepare_home(home)
    log_path = workdir / f"{server.peer_id}.log"
    log_path.write_text("")
    last_attempt = ""
    for _attempt in range(docker_launcher.START_ATTEMPTS):
        port = pick_free_port()
        try:
            container = client.containers.create(
                image.id, [*server.command, *extra_args],
                name=f"harness-{spec.kind}-{spec.tag}-{os.getpid()}-{port}",
                environment={"HARNESS_LISTEN": LOOPBACK, "HARNESS_PORT": str(port)},
                network_mode="host",
                volumes={str(workdir): {"bind": docker_launcher.CONTAINER_WORKDIR, "mode": "rw"},
                         str(home): {"bind": docker_launcher.CONTAINER_HOME, "mode": "rw"}},
                labels={**labels, **docker_launcher._owner_labels(), docker_launcher.LABEL_PEER_ID: server.peer_id},
            )
        except docker.errors.DockerException as exc:
            raise PeerStartError(f"cannot create a container from {spec.image}: {exc}") from exc
        try:
            container.start()
            banner = docker_launcher._wait_ready(container, port, deadline)
            algorithms = read_server_kexinit(LOOPBACK, port, max(0.5, deadline - time.monotonic()))
            docker_launcher._check_still_running(container)
        except docker_launcher._PortTakenError:
            last_attempt = docker_launcher._remove_container(container, None)
            continue
        except BaseException as exc:
            logs = docker_launcher._remove_container(container, log_path)
            if isinstance(exc, (ProbeError, docker.errors.DockerException)):
                raise PeerStartError(f"{spec.image} ({server.peer_id}) did not start cleanly: {exc}\n"
                                     f"--- container log tail ---\n{tail(logs)}") from exc
            raise
        _record_offer(server.peer_id, banner, str(image.id), algorithms)
        handle_info = _peer_info(server, container, image, banner, port, algorithms, pubkeys, workdir, home, log_path)
        handle = docker_launcher.DockerServer(handle_info, container, cleanup)
        if not re.match(server.banner, banner):
            handle.stop()
            raise PeerStartError(f"image {spec.image} answers {banner!r}, which is not {server.peer_id} "
                                 f"(expected /{server.banner}/): update ZOO_SERVERS and docs/PEERS.md")
        return handle
    raise PeerStartError(f"{spec.image}: lost the race for a free port {docker_launcher.START_ATTEMPTS} times\n"
                         f"--- last attempt ---\n{tail(last_attempt)}")


def _record_offer(peer_id: str, banner: str, image_id: str, algorithms: dict[str, tuple[str, ...]]) -> None:
    """Remember this start's KEXINIT for `harness peers list`; a cache, so failures are ignored."""
    path = offers_cache()
    offers = recorded_offers()
    offers[peer_id] = {"banner": banner, "image_id": image_id, **{k: list(v) for k, v in algorithms.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(offers, indent=1, sort_keys=True))
        temporary.replace(path)
    except OSError:
        pass


def _peer_info(server: ZooServer, container: Container,
               image: Image, banner: str, port: int,
               algorithms: dict[str, tuple[str, ...]], pubkeys: dict[str, Path], workdir: Path, home: Path,
               log_path: Path) -> PeerInfo:
    _, banner_version = parse_software_version(banner)
    extra = {
        "launcher": "docker", "image": server.spec.image, "image_id": str(image.id), "kind": server.kind,
        "suite": server.spec.suite, "variant": server.spec.variant, "container": str(container.name),
        "container_id": str(container.id), "package_version": banner_version or server.version,
        "auth_methods": server.auth_methods, "subsystems": ",".join(server.subsystems), "zoo": "1",
        "login_algorithms": encode_options(server.login_algorithms),
        "scenario_algorithms": encode_options(server.scenario_algorithms),
        "rsa_sha1_signatures": "1" if server.rsa_sha1_signatures else "0",
        "service_accept_first": "1" if server.service_accept_first else "0",
    }
    return PeerInfo(
        peer_id=server.peer_id, product=server.product, version=server.version, host=LOOPBACK, port=port,
        banner=banner, username=TEST_USER, password=server.password or TEST_PASSWORD, host_public_keys=dict(pubkeys),
        client_keys=client_keys(), known_hosts=write_known_hosts(workdir / "known_hosts", LOOPBACK, port, pubkeys),
        algorithms=algorithms, workdir=workdir, log_path=log_path, home=home, extra=extra,
    )


# --------------------------------------------------------------------------------------------
# Client peers


CLIENT_MOUNT = "/harness"
# A zoo client run that takes longer than this is a hung client or server.
CLIENT_TIMEOUT = 120.0


def run_zoo_client(client_id: str, share: Path, argv: Sequence[str], *, password: str | None = None,
                   stdin: bytes = b"", timeout: float = CLIENT_TIMEOUT) -> ClientResult:
    """Run a zoo client (:data:`harness.peers.zoo.ZOO_CLIENTS`) once: ``argv`` (from
    :meth:`ZooClient.argv`, paths under /harness) in a throw-away container on the host network,
    with ``share`` mounted read-only at /harness and ``password`` as HARNESS_PASSWORD."""
    client = ZOO_CLIENTS.get(client_id)
    if client is None:
        raise ValueError(f"unknown zoo client {client_id!r}; known: {', '.join(ZOO_CLIENTS)}")
    command = [docker_cli(), "run", "--rm", "--network", "host", "--label", f"{docker_launcher.LABEL_PEER}=1",
               "--label", f"{docker_launcher.LABEL_RUN}={os.getpid()}", "-v", f"{share}:{CLIENT_MOUNT}:ro",
               "--entrypoint", argv[0]]
    if stdin:
        command.append("-i")  # without it the client's stdin is /dev/null: EOF at once
    if password is not None:
        command += ["-e", f"HARNESS_PASSWORD={password}"]
    command += [client.image, *argv[1:]]
    try:
        proc = subprocess.run(command, input=stdin or None, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"zoo client {client_id} did not finish within {timeout} s: {' '.join(argv)}") from exc
    if proc.returncode == 125 or b"Error response from daemon" in proc.stderr:  # docker itself failed
        raise PeerError(f"zoo client {client_id}: docker could not run {client.image}: "
                        f"{proc.stderr.decode(errors='replace')}")
    return ClientResult(client_id, proc.returncode, proc.stdout, proc.stderr)
