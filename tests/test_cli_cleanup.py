"""SIGTERM and `peers stop ID` leave nothing behind: no container, no folder of private keys.

``harness peers start`` runs in a subprocess as a user would run it in a terminal; the test reads
its container and its temporary folders from what it prints, then stops it from outside.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0  # a container start is 1-3 s; a loaded CI machine may take much longer

pytestmark = [pytest.mark.docker, pytest.mark.slow]  # two container starts: 5-10 s, 35 s on a loaded machine


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _start_peer(peer_id: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`harness peers start ID` in the background; returns it and what it printed until ready."""
    proc = subprocess.Popen([sys.executable, "-m", "harness", "peers", "start", peer_id, "--launcher", "docker"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment(),
                            cwd=ROOT)  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops it."):
            return proc, lines
    proc.kill()
    raise AssertionError(f"peers start did not get ready: {''.join(lines)} {proc.stderr.read() if proc.stderr else ''}")


def _folders(lines: list[str]) -> set[Path]:
    """The temporary folders the peer's printed paths live in (known_hosts, client keys)."""
    return {Path(match).parent for line in lines for match in re.findall(r"(/\S+/(?:known_hosts|id_\w+))", line)}


def _containers_of(pid: int) -> list[str]:
    client = docker.from_env(timeout=30)
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": f"harness.run={pid}"})]
    finally:
        client.close()


def test_sigterm_stops_the_container_and_removes_key_folders() -> None:
    proc, lines = _start_peer("openssh-9.2")
    folders = _folders(lines)
    assert folders and all(folder.is_dir() for folder in folders), lines
    assert _containers_of(proc.pid), "the peer's container should be running"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    report = f"exit {proc.returncode}\nstdout: {stdout}\nstderr: {stderr}"
    assert "Traceback" not in stderr, report
    assert _containers_of(proc.pid) == [], report
    assert not [folder for folder in folders if folder.exists()], report


def test_peers_stop_id_stops_only_that_peer() -> None:
    proc, lines = _start_peer("openssh-9.2")
    try:
        other = subprocess.run([sys.executable, "-m", "harness", "peers", "stop", "dropbear-2022.83"],
                               capture_output=True, text=True, env=_environment(), cwd=ROOT, timeout=60)  # fmt: skip
        assert other.returncode == 0 and "stopped 0 container(s)" in other.stdout, other
        assert _containers_of(proc.pid), "stopping another peer must leave this one running"
        mine = subprocess.run([sys.executable, "-m", "harness", "peers", "stop", "openssh-9.2"],
                              capture_output=True, text=True, env=_environment(), cwd=ROOT, timeout=60)  # fmt: skip
        assert mine.returncode == 0 and "openssh-9.2: stopped 1 container(s)" in mine.stdout, mine
        assert _containers_of(proc.pid) == []
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert not any(folder.exists() for folder in _folders(lines))
