"""Start a zoo server peer (:mod:`harness.peers.zoo`) as a Docker container.

The container handling (labels, readiness, port races, logs, stop) is the Docker launcher's;
this module only plans a zoo start: host keys made here with ``ssh-keygen`` (ECDSA and RSA in
PEM, which every library reads), the per-run home, the command, and what the peer is.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.images import Image

from harness.peers import docker as docker_launcher
from harness.peers.base import (
    LOOPBACK,
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
from harness.peers.probe import ProbeError, read_server_kexinit
from harness.peers.testuser import TEST_PASSWORD, TEST_USER
from harness.peers.zoo import ZOO_SERVERS, ZooServer

# Host key name -> ssh-keygen arguments. PEM for ECDSA and RSA: paramiko 2.12, Conch, libssh
# and node's ssh2 all read it; Ed25519 exists only in the OpenSSH format.
HOST_KEY_SPECS: dict[str, tuple[str, ...]] = {
    "ed25519": ("-t", "ed25519"),
    "ecdsa": ("-t", "ecdsa", "-b", "256", "-m", "PEM"),
    "rsa": ("-t", "rsa", "-b", "3072", "-m", "PEM"),
}


def _make_host_keys(keydir: Path, names: tuple[str, ...]) -> dict[str, Path]:
    if keydir.exists():
        shutil.rmtree(keydir)
    keydir.mkdir(parents=True)
    private = {name: keydir / f"ssh_host_{name}_key" for name in names}
    wait_all({name: generate_openssh_key(private[name], HOST_KEY_SPECS[name]) for name in names}, "zoo host keys")
    return {name: Path(f"{path}.pub") for name, path in private.items()}


def start_zoo_server(peer_id: str, workdir: Path | None = None, *, timeout: float = 30.0,
                     extra_args: Sequence[str] = ()) -> docker_launcher.DockerServer:
    """Start the zoo server ``peer_id`` on a free loopback port; returns once it answered.

    ``workdir`` (None: a temp dir that ``stop()`` removes) is mounted at /harness and holds the
    host keys, known_hosts, the per-run home and the log. ``extra_args`` go to the server
    program (e.g. ``--stock-ciphers`` for libssh-server).
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
        return _start(client, server, image, workdir, cleanup, deadline, tuple(extra_args))
    except BaseException:
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _start(client: docker.DockerClient, server: ZooServer, image: Image, workdir: Path,
           cleanup: list[Path], deadline: float, extra_args: tuple[str, ...]) -> docker_launcher.DockerServer:
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
                labels={**docker_launcher._owner_labels(), docker_launcher.LABEL_PEER_ID: server.peer_id},
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
        handle_info = _peer_info(server, container, image, banner, port, algorithms, pubkeys, workdir, home, log_path)
        handle = docker_launcher.DockerServer(handle_info, container, cleanup)
        if not re.match(server.banner, banner):
            handle.stop()
            raise PeerStartError(f"image {spec.image} answers {banner!r}, which is not {server.peer_id} "
                                 f"(expected /{server.banner}/): update ZOO_SERVERS and docs/PEERS.md")
        return handle
    raise PeerStartError(f"{spec.image}: lost the race for a free port {docker_launcher.START_ATTEMPTS} times\n"
                         f"--- last attempt ---\n{tail(last_attempt)}")


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
    }
    return PeerInfo(
        peer_id=server.peer_id, product=server.product, version=server.version, host=LOOPBACK, port=port,
        banner=banner, username=TEST_USER, password=TEST_PASSWORD, host_public_keys=dict(pubkeys),
        client_keys=client_keys(), known_hosts=write_known_hosts(workdir / "known_hosts", LOOPBACK, port, pubkeys),
        algorithms=algorithms, workdir=workdir, log_path=log_path, home=home, extra=extra,
    )
