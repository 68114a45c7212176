"""Live-peer fuzzing against real container peers: a healthy peer gives no findings, a broken one does.

The detection tests break the real peer on purpose between an iteration and its check (the
run's ``after_iteration`` seam): ``docker kill`` (a crash: the container is gone),
``docker pause`` (a hang: the kernel still accepts connections on the listener, but nothing
answers) and SIGABRT to a session process of the AddressSanitizer build (a sanitizer report:
its runtime handles the signal and prints a report with the stack). Each must produce exactly
one finding with its transcript and bytes, and the run must restart the peer and carry on.
"""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path
from typing import Any

import pytest

from harness.fuzz import live
from harness.peers.docker import docker_available, peer_image_status

pytestmark = pytest.mark.peer

HEALTHY = ("openssh-9.2", "dropbear-2022.83", "dropbear-2022.83-asan")
SANITIZED = "dropbear-2022.83-asan"
# In the container: SIGABRT to every dropbear session process (children of the listener, PID 1).
_ABORT_SESSIONS = ('for d in /proc/[0-9]*; do read -r pid comm state ppid rest < "$d/stat"; '
                   'if [ "$comm" = "(dropbear)" ] && [ "$ppid" = 1 ]; then kill -ABRT "$pid"; fi; done')


def _need(peer_id: str) -> None:
    ok, why = docker_available()
    if not ok:
        pytest.skip(f"no Docker engine: {why}")
    present, why = peer_image_status(peer_id)
    if not present:
        pytest.skip(f"{peer_id}: {why}")


@pytest.mark.parametrize("peer_id", HEALTHY)
def test_a_healthy_peer_survives_a_bounded_run(peer_id: str, tmp_path: Path) -> None:
    _need(peer_id)
    points: list[str] = []
    summary = live.run(peer_id, seed=11, seconds=None, iterations=25, out_dir=tmp_path, answer_timeout=1.0,
                       after_iteration=lambda peer, result: points.append(result.mutation.point),
                       log=lambda _: None)  # fmt: skip
    assert summary.iterations == 25
    assert sum(summary.reactions.values()) == 25
    assert summary.findings == [], [json.loads((p / "finding.json").read_text()) for p in summary.findings]
    assert summary.restarts == 0
    assert len(set(points)) >= 4, points  # the run reaches most protocol points, not just the banner
    assert summary.seconds < 60


def _one_finding(summary: live.RunSummary) -> tuple[Path, dict[str, Any]]:
    assert len(summary.findings) == 1, summary.findings
    path = summary.findings[0]
    return path, json.loads((path / "finding.json").read_text())


def test_a_killed_peer_is_a_crash_finding_and_is_restarted(tmp_path: Path) -> None:
    _need("openssh-9.2")
    containers: list[str] = []

    def kill_at_two(peer: live.PeerUnderTest, result: live.IterationResult) -> None:
        containers.append(peer.handle.container.id)
        if result.iteration == 2:
            peer.handle.container.kill()

    summary = live.run("openssh-9.2", seed=5, seconds=None, iterations=5, out_dir=tmp_path, answer_timeout=1.0,
                       after_iteration=kill_at_two, log=lambda _: None)  # fmt: skip
    path, record = _one_finding(summary)
    assert path == tmp_path / "openssh-9.2" / "1"
    assert record["kind"] == "crash" and record["iteration"] == 2 and record["iteration_seed"] == "5:2"
    assert "not running" in record["evidence"] or "dead" in record["evidence"]
    assert record["mutation"]["point"] in live.POINTS and record["replay"].endswith(str(path))
    assert "MUTATION" in (path / "transcript.txt").read_text()
    assert (path / "sent.bin").stat().st_size > 0 and (path / "wire.txt").read_text().startswith(">>")
    # Restarted: the iterations after the finding ran against a new container, without findings.
    assert summary.restarts == 1 and summary.iterations == 5
    assert containers[3] != containers[2] and containers[3] == containers[4]


def test_a_frozen_peer_is_a_hang_finding_and_is_restarted(tmp_path: Path) -> None:
    _need("dropbear-2022.83")

    def pause_at_one(peer: live.PeerUnderTest, result: live.IterationResult) -> None:
        if result.iteration == 1:
            peer.handle.container.pause()

    summary = live.run("dropbear-2022.83", seed=3, seconds=None, iterations=3, out_dir=tmp_path,
                       answer_timeout=1.0, probe_timeout=2.0, after_iteration=pause_at_one,
                       log=lambda _: None)  # fmt: skip
    path, record = _one_finding(summary)
    assert record["kind"] == "hang" and record["iteration"] == 1
    assert "no identification line within 2 s" in record["evidence"] and "paused" in record["evidence"]
    assert (path / "transcript.txt").stat().st_size > 0
    assert summary.restarts == 1 and summary.iterations == 3


def test_a_sanitizer_report_is_a_finding_and_the_peer_is_restarted(tmp_path: Path) -> None:
    _need(SANITIZED)

    def abort_a_session_at_one(peer: live.PeerUnderTest, result: live.IterationResult) -> None:
        if result.iteration == 1:
            info = peer.info
            with socket.create_connection((info.host, info.port), timeout=5) as sock:
                assert sock.recv(64).startswith(b"SSH-")  # a session process exists now
                done = peer.handle.container.exec_run(["sh", "-c", _ABORT_SESSIONS])
                assert done.exit_code == 0, done.output

    summary = live.run(SANITIZED, seed=4, seconds=None, iterations=3, out_dir=tmp_path, answer_timeout=1.0,
                       after_iteration=abort_a_session_at_one, log=lambda _: None)  # fmt: skip
    path, record = _one_finding(summary)
    assert path == tmp_path / SANITIZED / "1"
    assert record["kind"] == "report" and record["iteration"] == 1
    assert "AddressSanitizer" in record["evidence"]
    assert (path / "transcript.txt").stat().st_size > 0
    assert summary.restarts == 1 and summary.iterations == 3


def test_replay_resends_the_same_mutation(tmp_path: Path) -> None:
    """A finding replays: the same mutation at the same point, sent to a fresh peer (healthy here,
    since the finding was an external kill, so the replay reports that it did not reproduce)."""
    _need("openssh-9.2")

    def kill_at_zero(peer: live.PeerUnderTest, result: live.IterationResult) -> None:
        if result.iteration == 0:
            peer.handle.container.kill()

    summary = live.run("openssh-9.2", seed=9, seconds=None, iterations=1, out_dir=tmp_path, answer_timeout=1.0,
                       after_iteration=kill_at_zero, log=lambda _: None)  # fmt: skip
    path, record = _one_finding(summary)
    lines: list[str] = []
    assert live.replay(path, log=lines.append) is None
    assert record["mutation"]["point"] in lines[0] or record["mutation"]["message"] in lines[0]


# -- without a peer ------------------------------------------------------------------------------------


def test_iterations_are_reproducible_from_their_seed() -> None:
    info = type("Info", (), {"username": "u", "password": "p"})()
    first = [live.plan_iteration(random.Random(f"4:{i}"), info)[1] for i in range(40)]
    again = [live.plan_iteration(random.Random(f"4:{i}"), info)[1] for i in range(40)]
    assert first == again
    assert len({m.point for m in first}) == len(live.POINTS)
    assert {layer for m in first for layer in m.layers} >= {"raw", "message", "payload", "packet", "wire", "stream"}


def test_the_probe_tells_a_silent_listener_from_a_closed_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (kernel backlog), never answers
        state, detail = live.probe_banner(silent.getsockname(), 0.5)
        assert state == "hang", detail
        port = silent.getsockname()[1]
    state, detail = live.probe_banner(("127.0.0.1", port), 0.5)
    assert state == "refused", detail
