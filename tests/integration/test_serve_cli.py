"""`harness serve` as people run it: the real command line, a real client, server-started rekeys.

The library-level server is tested by every client in test_server_interop.py and
test_container_clients.py; this checks the command's own wiring (arguments reach the server,
the address line is printed, SIGTERM stops it) with our client on loopback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Transport

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "cli-user", "cli-Test-pw-1"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    argv = [sys.executable, "-m", "harness", "serve", "--port", "0", "--user", USER, "--password", PASSWORD,
            "--cwd", str(tmp_path), "--rekey-bytes", str(1 << 20)]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    try:
        assert proc.stdout is not None
        address = None
        for _ in range(5):  # the host key line, then the address line
            line = proc.stdout.readline()
            match = re.search(r"serving SSH on ([\d.]+):(\d+)", line)
            if match:
                address = (match.group(1), int(match.group(2)))
                break
        assert address is not None, "harness serve printed no address line"
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_serve_rekeys_on_its_own_after_rekey_bytes(served: tuple[str, int]) -> None:
    host, port = served
    t = Transport((host, port))
    try:
        t.connect(username=USER, password=PASSWORD)  # ephemeral host key: not checked here
        chan = t.open_session()
        chan.exec_command("head -c 4000000 /dev/zero")
        received = 0
        while chunk := chan.recv(65536):
            assert chunk.count(0) == len(chunk)
            received += len(chunk)
        assert received == 4_000_000
        assert chan.recv_exit_status() == 0
        # 4 MB through a server that re-keys every MiB: it started at least three re-exchanges.
        assert t.key_exchanges >= 4, t.key_exchanges
    finally:
        t.close()


def test_serve_refuses_a_bad_rekey_bytes_value() -> None:
    r = subprocess.run([sys.executable, "-m", "harness", "serve", "--password", "x", "--rekey-bytes", "-5"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "--rekey-bytes: must be above zero" in r.stderr
