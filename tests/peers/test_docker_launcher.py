"""The Docker launcher brings up every peer of the matrix so that real clients can use it.

Why the host's real OpenSSH client: it proves that the launcher's setup (host keys, known_hosts,
authorized_keys in the per-run home, the test user's password) is right independently of the
harness's own SSH stack. Each peer is started once per module and shared by its tests.

Without a Docker engine or the images (``containers/bootstrap.sh``), these tests skip with the
reason; with ``HARNESS_REQUIRE_DOCKER=1`` they fail instead, so a CI job meant to run them
cannot pass vacuously.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from harness.peers.base import PeerInfo
from harness.peers.docker import (
    LABEL_PEER,
    LABEL_RUN,
    PEERS,
    SANITIZER_PEERS,
    DockerServer,
    cleanup_stale_containers,
    docker_available,
    peer_image_status,
    start_docker_server,
)

pytestmark = [pytest.mark.docker]

SSH = "/usr/bin/ssh"
REPO = Path(__file__).resolve().parents[2]
# Every client command finishes in well under a second on loopback; the bound catches hangs.
CLIENT_TIMEOUT = 20.0
# A helper process starts a peer (~1 s) and exits; generous for a loaded CI machine.
HELPER_TIMEOUT = 60.0
# The OpenSSH client's host key algorithm for each PeerInfo.host_public_keys name.
HOST_KEY_ALGORITHM = {
    "ed25519": "ssh-ed25519",
    "ecdsa-256": "ecdsa-sha2-nistp256",
    "ecdsa-384": "ecdsa-sha2-nistp384",
    "ecdsa-521": "ecdsa-sha2-nistp521",
    "rsa": "rsa-sha2-256",  # the one every release offers (Dropbear has no rsa-sha2-512)
    "dsa": "ssh-dss",
}
# The cheapest peer to start (no RSA key generation): used by the lifecycle tests.
QUICK_PEER = "tinyssh"


def _unavailable(reason: str) -> None:
    if os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
        pytest.fail(f"HARNESS_REQUIRE_DOCKER=1 but Docker peers cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> str:
    ok, reason = docker_available()
    if not ok:
        _unavailable(reason)
    return reason


def require_image(peer_id: str) -> None:
    ok, reason = peer_image_status(peer_id)
    if not ok:
        _unavailable(reason)


@pytest.fixture(scope="module", params=list(PEERS))
def peer(request: pytest.FixtureRequest, docker_engine: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DockerServer]]:
    peer_id: str = request.param
    require_image(peer_id)
    spec = PEERS[peer_id]
    with start_docker_server(spec.kind, spec.suite, tmp_path_factory.mktemp(peer_id)) as server:
        yield peer_id, server


def client_options(info: PeerInfo) -> list[str]:
    """OpenSSH client options that trust only ``info.known_hosts`` and ignore root's own config."""
    return [
        "-F", "/dev/null",
        "-o", f"UserKnownHostsFile={info.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=10",
    ]  # fmt: skip


def key_login(info: PeerInfo, *options: str, command: str = "echo hi",
              key: str = "ed25519") -> subprocess.CompletedProcess[str]:
    argv = [SSH, *client_options(info), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "PreferredAuthentications=publickey", "-i", str(info.client_keys[key]), *options,
            "-p", str(info.port), f"{info.username}@{info.host}", command]
    return run_client(argv)


def run_client(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # A new session has no controlling tty, so no client can block on a prompt from /dev/tty.
    return subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL,
                          env=env, start_new_session=True, check=False)


def container_exists(name: str) -> bool:
    client = docker.from_env()
    try:
        client.containers.get(name)
    except docker.errors.NotFound:
        return False
    finally:
        client.close()
    return True


# --- what the launcher reports ---------------------------------------------------------------


def test_peer_id_and_version_come_from_the_running_peer(peer: tuple[str, DockerServer]) -> None:
    peer_id, server = peer
    info = server.info
    assert info.peer_id == peer_id, f"{PEERS[peer_id].image} now runs {info.banner!r}: update PEERS"
    assert info.banner.startswith("SSH-2.0-")
    assert info.host == "127.0.0.1" and info.port > 0 and info.username == "sshharness"
    assert info.extra["launcher"] == "docker" and info.extra["image"] == PEERS[peer_id].image
    assert info.extra["package_version"], "dpkg-query in the container gave no version"
    if info.product == "tinyssh":
        assert info.version in info.banner
    else:
        assert info.version in info.banner and peer_id.split("-", 1)[1] in info.version


def test_algorithms_are_read_from_the_peer(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    algs = server.info.algorithms
    for field in ("kex", "host_key", "cipher_c2s", "cipher_s2c", "mac_c2s", "mac_s2c",
                  "compression_c2s", "compression_s2c"):
        assert algs[field], field
    assert "ssh-ed25519" in algs["host_key"]
    assert algs["banner"][0].startswith("SSH-2.0-")
    if server.info.product == "openssh":
        # ssh -Q of the image, and everything it supports is enabled (offered == supported).
        markers = {"kex-strict-s-v00@openssh.com", "ext-info-s"}
        assert set(algs["kex"]) - markers == set(algs["supported_kex"])
        assert set(algs["cipher_c2s"]) == set(algs["supported_cipher"])
        assert set(algs["mac_s2c"]) == set(algs["supported_mac"])
        assert "zlib@openssh.com" in algs["compression_c2s"]


def test_known_hosts_and_host_keys_agree(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    info = server.info
    lines = info.known_hosts.read_text().splitlines()
    assert len(lines) == len(info.host_public_keys) >= 1
    assert all(line.startswith(f"[127.0.0.1]:{info.port} ") for line in lines)
    offered = set(info.algorithms["host_key"])
    for name in info.host_public_keys:
        assert HOST_KEY_ALGORITHM[name] in offered, (name, offered)


# --- the host's OpenSSH client logs in -------------------------------------------------------


def test_openssh_client_logs_in_with_a_key(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    result = key_login(server.info)
    assert result.returncode == 0 and result.stdout == "hi\n", result.stderr + server.logs()[-2000:]


def test_every_host_key_verifies_against_known_hosts(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    info = server.info
    for name in info.host_public_keys:
        result = key_login(info, "-o", f"HostKeyAlgorithms={HOST_KEY_ALGORITHM[name]}", command="true")
        assert result.returncode == 0, (name, result.stderr)


def test_unknown_host_key_is_refused(peer: tuple[str, DockerServer], tmp_path: Path) -> None:
    """The known_hosts check above is not vacuous."""
    _, server = peer
    info = server.info
    argv = [SSH, *client_options(info), "-o", "BatchMode=yes", "-i", str(info.client_keys["ed25519"]),
            "-p", str(info.port), f"{info.username}@{info.host}", "true"]
    argv[argv.index(f"UserKnownHostsFile={info.known_hosts}")] = f"UserKnownHostsFile={tmp_path / 'empty'}"
    result = run_client(argv)
    assert result.returncode != 0 and "Host key verification failed" in result.stderr


@pytest.mark.parametrize("key", ["ecdsa-256", "rsa", "rsa-pem"])
def test_other_client_keys(peer: tuple[str, DockerServer], key: str) -> None:
    _, server = peer
    if server.info.product == "tinyssh":
        pytest.skip("tinysshd accepts ed25519 client keys only")
    result = key_login(server.info, key=key)
    assert result.returncode == 0 and result.stdout == "hi\n", result.stderr + server.logs()[-2000:]


@pytest.mark.skipif(shutil.which("sshpass") is None, reason="sshpass not installed")
def test_password_login(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    info = server.info
    if "password" not in info.extra["auth_methods"]:
        pytest.skip(f"{info.peer_id} has no password authentication")
    argv = ["sshpass", "-e", SSH, *client_options(info), "-o", "PreferredAuthentications=password",
            "-o", "PubkeyAuthentication=no", "-p", str(info.port), f"{info.username}@{info.host}", "echo hi"]
    result = run_client(argv, env={**os.environ, "SSHPASS": info.password})
    assert result.returncode == 0 and result.stdout == "hi\n", result.stderr + server.logs()[-2000:]


def test_per_run_home_is_visible_outside(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    info = server.info
    assert info.home is not None
    result = key_login(info, command="echo written-inside > probe.txt && id -un")
    assert result.returncode == 0 and result.stdout == "sshharness\n", result.stderr
    assert (info.home / "probe.txt").read_text() == "written-inside\n"


def test_logs_are_captured(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    assert key_login(server.info).returncode == 0
    text = server.logs()
    assert text.strip(), "no container output"
    assert server.info.log_path.read_text() == text
    if server.info.product == "openssh":
        assert "Accepted publickey for sshharness" in text
    elif server.info.product == "dropbear":
        assert "auth succeeded" in text.lower()
    else:
        assert "ssh-ed25519" in text and "accepted" in text


# --- lifecycle -------------------------------------------------------------------------------


def test_stop_removes_the_container_and_keeps_the_logs(docker_engine: str, tmp_path: Path) -> None:
    require_image(QUICK_PEER)
    spec = PEERS[QUICK_PEER]
    server = start_docker_server(spec.kind, spec.suite, tmp_path)
    name, port = server.name, server.info.port
    assert server.running and container_exists(name)
    labels = server.container.labels
    assert labels[LABEL_PEER] == "1" and labels[LABEL_RUN] == str(os.getpid())
    server.stop()
    server.stop()  # idempotent
    assert not server.running and not container_exists(name)
    assert server.logs() == server.info.log_path.read_text()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_workdir_none_is_removed_at_stop(docker_engine: str) -> None:
    require_image(QUICK_PEER)
    spec = PEERS[QUICK_PEER]
    with start_docker_server(spec.kind, spec.suite, None) as server:
        workdir = server.info.workdir
        assert (workdir / "known_hosts").is_file()
    assert not workdir.exists()


def _helper(script: str, tmp_path: Path) -> subprocess.Popen[str]:
    """A Python process that starts the quick peer, prints the container name, then ``script``.

    Its temp dirs (workdir, client keys) go under ``tmp_path``: a crashed helper cleans up nothing.
    """
    spec = PEERS[QUICK_PEER]
    # Python installs its KeyboardInterrupt handler only if SIGINT is not ignored at start, and a
    # background job of a non-interactive shell (a CI runner's `cmd &`) starts with it ignored:
    # install it, as a terminal's Ctrl-C would find it. (The harness CLI does the same itself.)
    code = textwrap.dedent(f"""
        import os, signal, sys, time
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from harness.peers.docker import start_docker_server
        server = start_docker_server({spec.kind!r}, {spec.suite!r}, None)
        print(server.name, flush=True)
    """) + textwrap.dedent(script)
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)})


def _container_name(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    name = proc.stdout.readline().strip()
    if not name:
        proc.kill()
        _, err = proc.communicate(timeout=HELPER_TIMEOUT)
        pytest.fail(f"helper did not start a peer: {err}")
    return name


def test_leftovers_of_a_crashed_run_are_removed(docker_engine: str, tmp_path: Path) -> None:
    require_image(QUICK_PEER)
    proc = _helper("os._exit(0)  # like a crash: no atexit, no context manager\n", tmp_path)
    name = _container_name(proc)
    proc.communicate(timeout=HELPER_TIMEOUT)
    assert container_exists(name), "the crashed run's container should still be there"
    assert name in cleanup_stale_containers()
    assert not container_exists(name)


def test_ctrl_c_stops_the_container(docker_engine: str, tmp_path: Path) -> None:
    require_image(QUICK_PEER)
    proc = _helper("print('waiting', flush=True)\ntime.sleep(60)\n", tmp_path)
    name = _container_name(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "waiting"
    assert container_exists(name)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=HELPER_TIMEOUT)
    assert "KeyboardInterrupt" in err
    assert not container_exists(name), "atexit should have removed the container"


def test_cleanup_leaves_live_runs_alone(peer: tuple[str, DockerServer]) -> None:
    _, server = peer
    assert server.name not in cleanup_stale_containers()
    assert server.running


def test_dropbear_host_key_limit_is_checked_before_starting(docker_engine: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1-4"):
        start_docker_server("dropbear", "bookworm", tmp_path,
                            host_key_types=("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa"))


def test_bootstrap_builds_exactly_the_registered_peers() -> None:
    text = (REPO / "containers" / "bootstrap.sh").read_text()
    block = re.search(r"PEER_IMAGES=\((.*?)\)", text, re.DOTALL)
    assert block is not None
    registered = [*PEERS.values(), *SANITIZER_PEERS.values()]
    from harness.peers.clients import CLIENT_PEERS, SANITIZER_CLIENT_PEERS

    clients = {image.removeprefix("harness-peer/") for _, image in [*CLIENT_PEERS.values(),
                                                                   *SANITIZER_CLIENT_PEERS.values()]}  # fmt: skip
    assert set(block.group(1).split()) == {f"{spec.kind}:{spec.tag}" for spec in registered} | clients
