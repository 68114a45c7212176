"""Peers on another Docker engine, chosen by the standard DOCKER_HOST: a second dockerd on its
own unix socket (no bridge, no iptables, so it leaves the first engine alone) gets one peer
image, and the docker launcher starts, uses and stops the peer there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "harness-peer/tinyssh:bookworm"  # the smallest peer image
PROBE = """
import json
import docker
from harness.interop import connect, run
from harness.peers.registry import start_peer

handle = start_peer("tinyssh", "docker")
try:
    t = connect(handle.info)
    out = run(t, "echo on-the-second-engine")[0]
    t.close()
    names = [c.name for c in docker.from_env().containers.list()]
finally:
    handle.stop()
print(json.dumps({"out": out.decode(), "containers": names}))
"""


def _docker(host: str, *args: str, timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)  # type: ignore[call-overload]  # fmt: skip


def _unmount_under(directory: Path) -> None:
    """Mounts a stopped dockerd can leave under its exec root (its network namespace file)."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    for target in sorted((line.split()[1] for line in mounts if line.split()[1].startswith(str(directory))),
                         reverse=True):  # fmt: skip
        subprocess.run(["umount", "-l", target], capture_output=True, timeout=10)


@pytest.fixture
def second_engine() -> Iterator[str]:
    dockerd = shutil.which("dockerd")
    assert dockerd, "dockerd is not installed (containers/bootstrap.sh installs docker.io)"
    base = Path(tempfile.mkdtemp(prefix="hd", dir="/tmp"))  # short: unix socket paths are limited to 108 bytes
    host = f"unix://{base}/d.sock"
    log = open(base / "dockerd.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([dockerd, "--host", host, "--data-root", str(base / "root"), "--exec-root",
                             str(base / "exec"), "--pidfile", str(base / "d.pid"), "--bridge", "none",
                             "--iptables=false", "--ip-masq=false"], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while _docker(host, "version", timeout=10).returncode != 0:
            assert proc.poll() is None, (base / "dockerd.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the second dockerd did not answer in 30 s"
            time.sleep(0.3)
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        _unmount_under(base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.docker
def test_peer_runs_on_the_engine_docker_host_names(second_engine: str) -> None:
    save = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
    loaded = _docker(second_engine, "load", stdin=save.stdout, timeout=60)
    assert save.wait(60) == 0 and loaded.returncode == 0, loaded.stderr
    env = dict(os.environ, DOCKER_HOST=second_engine, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, env=env,
                          cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["out"] == "on-the-second-engine\n"
    assert any(name.startswith("harness-tinyssh") for name in result["containers"])  # it ran on the second engine
    assert _docker(second_engine, "ps", "-q").stdout.strip() == ""  # and was stopped there
