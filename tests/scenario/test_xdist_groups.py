"""Which cells share a pytest-xdist group (harness run uses ``--dist loadgroup``): every cell
against a server peer is in that peer's group, so one worker starts the server and reuses it;
cells against a client peer start their own client process and carry no group, so any free
worker takes them (grouped, xdist queued a client's whole group behind a server's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELLS = ["scenarios/sanity/handshake.py", "scenarios/client/disconnect_text.py"]


def _collected(marker_expression: str) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "-m", marker_expression, *CELLS,
            "--peer", "openssh-9.2", "--client-peer", "openssh-client-9.2"]  # fmt: skip
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_server_peer_cells_are_grouped_and_client_peer_cells_are_not() -> None:
    grouped, free = _collected("xdist_group"), _collected("not xdist_group")
    assert grouped and all(line.endswith("@openssh-9.2]") for line in grouped), grouped
    assert free and all(line.endswith("@openssh-client-9.2]") for line in free), free
