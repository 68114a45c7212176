"""Peer failures produce clear errors that name the peer, and nothing is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.peers.base import PeerError, PeerStartError

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def docker_ok() -> None:
    from harness.peers.docker import docker_available

    ok, reason = docker_available()
    if not ok:
        if os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"HARNESS_REQUIRE_DOCKER=1 but Docker peers cannot run: {reason}", pytrace=False)
        pytest.skip(f"no Docker engine: {reason}")


def test_bad_config_names_peer_and_shows_log(docker_ok: None, tmp_path: Path) -> None:
    from harness.peers.registry import start_peer

    with pytest.raises(PeerStartError) as info:
        start_peer("openssh-9.2", "docker", tmp_path, extra_config={"NoSuchOption": "1"})
    text = str(info.value)
    assert "openssh" in text.lower()
    assert "NoSuchOption" in text or "Bad configuration" in text  # sshd's own complaint, from its log


def test_missing_image_is_a_clear_error(docker_ok: None, tmp_path: Path) -> None:
    from harness.peers.docker import start_docker_server

    with pytest.raises(PeerError) as info:
        start_docker_server("openssh", "sid", tmp_path)
    assert "openssh" in str(info.value) and "sid" in str(info.value)


def test_process_launcher_refuses_other_releases() -> None:
    from harness.peers.registry import start_peer

    with pytest.raises(PeerError, match="not installed locally"):
        start_peer("openssh-8.4", "process")


def test_peer_dying_mid_session_is_reported(docker_ok: None, tmp_path: Path) -> None:
    from harness import SSHException
    from harness.interop import connect
    from harness.peers.registry import start_peer

    handle = start_peer("dropbear-2022.83", "docker", tmp_path)
    try:
        t = connect(handle.info)
        chan = t.open_session()
        chan.exec_command("cat")
        handle.container.kill()
        with pytest.raises((SSHException, OSError, TimeoutError)):
            chan.settimeout(10)
            while True:
                chan.sendall(b"x" * 65536)
        assert not t.is_active()
        assert "auth succeeded" in handle.logs()  # the log is still there for the report
    finally:
        handle.stop()


def test_matrix_run_leaves_nothing_behind(docker_ok: None, tmp_path: Path) -> None:
    """A whole `harness interop` run: no container, volume or temp dir of it survives."""
    import docker

    client = docker.from_env()
    volumes_before = {v.name for v in client.volumes.list()}
    tmp_before = set(Path("/tmp").glob("harness-*"))
    argv = [sys.executable, "-m", "harness", "interop", "--peer", "tinyssh", "--launcher", "docker", "--no-bulk",
            "--out", str(tmp_path)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert (tmp_path / "interop.json").exists() and "tinyssh" in (tmp_path / "interop.md").read_text()
    # Containers of that run carry its pid; other workers' live peers are not its leftovers.
    leftovers = client.containers.list(all=True, filters={"label": f"harness.run={proc.pid}"})
    assert not leftovers, f"containers left behind: {[c.name for c in leftovers]}"
    assert {v.name for v in client.volumes.list()} == volumes_before
    new_tmp = set(Path("/tmp").glob("harness-*")) - tmp_before
    assert not [p for p in new_tmp if p.name.startswith("harness-matrix-")], f"temp dirs left: {new_tmp}"
