"""SIGTERM and `peers stop ID` leave nothing behind: no container, no folder of private keys.

``harness peers start`` runs in a subprocess as a user would run it in a terminal; the test reads
its container and its temporary folders from what it prints, then stops it from outside.
``harness run`` (pytest and an xdist worker below it, which own the containers) is stopped with
SIGTERM while a scenario runs against a container peer; its temporary folders are found through
its own TMPDIR, its containers through the owner label of every process of the run.
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
# SIGTERM to exit of a whole `harness run`: pytest's workers stop their containers (about a second
# each) and remove their folders; measured 3.5 s here. Past this bound run_child would be killing it.
RUN_STOP_BOUND = 45.0
# Keeps the cell busy (on the peer) while the signal arrives.
BUSY_SCENARIO = '''"""A command that outlasts the moment the test stops the run."""

from harness.scenario import *

SCENARIO = Scenario(steps=[Login(), Session("sleep 30"), ExpectOutput(exit_status=0)])
'''

pytestmark = [pytest.mark.docker, pytest.mark.slow]  # three container starts: 10-20 s, 50 s on a loaded machine


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


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (from /proc), for the owner labels of a run's containers."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(raw[raw.rindex(")") + 2 :].split()[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def _private_keys(folder: Path) -> list[Path]:
    """Files under ``folder`` that hold a private key (OpenSSH or PEM)."""
    out = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and b"PRIVATE KEY-----" in path.read_bytes()[:200]:
                out.append(path)
        except OSError:
            continue  # removed while we looked
    return out


def test_sigterm_during_harness_run_stops_it_and_leaves_no_container_or_key(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "sleeper.py").write_text(BUSY_SCENARIO)
    run_tmp = tmp_path / "tmp"  # the run's TMPDIR: every temporary folder of the run lands here
    run_tmp.mkdir()
    argv = [sys.executable, "-m", "harness", "run", str(folder), "--peer", "openssh-9.2", "--launcher", "docker",
            "-n", "1", "--out", str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**_environment(), "TMPDIR": str(run_tmp)})  # fmt: skip
    try:
        containers: dict[str, int] = {}
        keys: list[Path] = []
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and not (containers and keys):
            time.sleep(0.2)
            containers = {name: pid for pid in _descendants(proc.pid) for name in _containers_of(pid)}
            keys = _private_keys(run_tmp)
        assert proc.poll() is None and containers and keys, (containers, keys, proc.poll())
        time.sleep(1.0)  # the cell is now in its `sleep 30` (or still logging in): mid-scenario either way
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=RUN_STOP_BOUND)
        stopped_in = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    report = f"exit {proc.returncode} after {stopped_in:.1f} s\nstdout: {stdout[-3000:]}\nstderr: {stderr[-3000:]}"
    assert proc.returncode == 128 + signal.SIGTERM, report
    assert "harness: terminated; cleaned up" in stderr and "did not stop in time" not in stderr, report
    assert [name for pid in set(containers.values()) for name in _containers_of(pid)] == [], report
    assert _private_keys(run_tmp) == [], report
    assert stopped_in < RUN_STOP_BOUND, report
