"""A connection that ends while its command runs (issue 20): `harness serve` hangs up the session's
process group as sshd's teardown does (SIGHUP, then SIGKILL after a grace period), logs one line
and no traceback, and sends nothing on the dead connection.

Driven by the real OpenSSH client, killed with SIGKILL so that it cannot say goodbye.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.peers.base import client_keys
from harness.session_process import DEFAULT_HANGUP_GRACE, live_group_members
from tests.integration.serve_process import ServeProcess, serve_cli

pytestmark = pytest.mark.peer

# How long past the grace period the group may take to go (the server notices the closed
# socket at once; this covers a loaded machine).
MARGIN = 3.0
# Log-in and the command's first line: seconds on a loaded machine.
CLIENT_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def hangup_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    work = tmp_path_factory.mktemp("serve-hangup")
    with serve_cli(work, "--user", "root", "--authorized-keys", str(authorize_test_key(work))) as served:
        yield served


def authorize_test_key(folder: Path) -> Path:
    """An authorized_keys file in ``folder`` that lets the test's Ed25519 client key in."""
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{client_keys()['ed25519']}.pub").read_text())
    return authorized


@contextlib.contextmanager
def running_command(server: ServeProcess, command: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``command`` (which prints its shell's pid first) running through ssh: (the client, that pid).

    The pid is the program's pgid (the server starts each program as a session leader). Every
    wait inside the block is bounded by CLIENT_TIMEOUT (the client is killed then), and the client
    is killed with SIGKILL on the way out, so that it cannot say goodbye.
    """
    argv = ["ssh", "-F", "/dev/null", "-p", str(server.port), "-i", str(client_keys()["ed25519"]),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"root@{server.host}", command]  # fmt: skip
    client = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # readline() returns at the latest when the client dies: this timer bounds the wait.
    deadline = threading.Timer(CLIENT_TIMEOUT, client.kill)
    deadline.start()
    try:
        assert client.stdout is not None
        line = client.stdout.readline()
        assert line.strip().isdigit(), f"no pid from the command: {line!r}"
        yield client, int(line)
    finally:
        deadline.cancel()
        client.send_signal(signal.SIGKILL)  # nothing happens if it has already ended
        client.wait(timeout=10)


def start_and_kill_client(server: ServeProcess, command: str) -> int:
    """Run ``command`` through ssh (see running_command), then SIGKILL ssh; returns the command's pgid."""
    with running_command(server, command) as (_, pgid):
        assert live_group_members(pgid), "the command is not running"
    return pgid


def wait_until_gone(pgid: int, timeout: float) -> float:
    """Seconds until no live process is left in ``pgid``; fails after ``timeout``."""
    start = time.monotonic()
    while live_group_members(pgid):
        if time.monotonic() - start > timeout:
            members = live_group_members(pgid)
            for pid in members:  # clean up what the server failed to
                subprocess.run(["kill", "-9", str(pid)], check=False)
            raise AssertionError(f"process group {pgid} still has {members} after {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


def test_killed_client_hangs_up_its_command(hangup_server: ServeProcess) -> None:
    pgid = start_and_kill_client(hangup_server, "echo $$; exec sleep 1000")
    wait_until_gone(pgid, DEFAULT_HANGUP_GRACE + MARGIN)
    line = hangup_server.wait_for_log(r"^.* disconnected: .*; hung up 1 running program\(s\)$").group(0)
    assert "INFO" in line
    time.sleep(0.2)  # anything the server's threads still had to say about this connection
    log = hangup_server.log()
    assert "Traceback" not in log and "ERROR" not in log, log


def test_program_that_ignores_sighup_is_killed_after_the_grace_period(hangup_server: ServeProcess) -> None:
    # The shell and its sleep both ignore SIGHUP (an ignored signal stays ignored across exec).
    pgid = start_and_kill_client(hangup_server, "trap '' HUP; echo $$; sleep 1000; echo not reached")
    seconds = wait_until_gone(pgid, DEFAULT_HANGUP_GRACE + MARGIN)
    assert seconds >= DEFAULT_HANGUP_GRACE - 0.5, f"gone after {seconds:.1f} s: SIGKILL came before the grace period"
    hangup_server.wait_for_log(rf"process group {pgid} outlived SIGHUP by .*: SIGKILL")
    log = hangup_server.log()
    assert "Traceback" not in log and "ERROR" not in log, log


@pytest.mark.parametrize("nohup", [False, True], ids=["plain", "under_nohup"])
def test_stopping_the_server_hangs_up_running_commands(tmp_path: Path, nohup: bool) -> None:
    """Under nohup too: the server ignores SIGHUP, the programs it runs must not inherit that."""
    authorized = authorize_test_key(tmp_path)
    with (serve_cli(tmp_path, "--user", "root", "--authorized-keys", str(authorized), nohup=nohup) as server,
          running_command(server, "echo $$; exec sleep 1000") as (client, pgid)):  # fmt: skip
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0
        wait_until_gone(pgid, MARGIN)  # sleep dies of the SIGHUP at shutdown
        assert client.wait(timeout=10) != 0  # the connection went with the server
    assert "Traceback" not in server.log()
